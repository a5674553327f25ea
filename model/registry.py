"""Control-plane items: the registry's declared facts of a cell, and DynamoDB's typed JSON.

Two tables, two owners: the cell stack owns its registry item (identity, versions served,
releases, endpoints); the pipeline owns the cell's rollout-state item (status, deployed and
previous version, rollout id, timestamps) in its own table, which no Pulumi resource manages.
Attribute values go to and from DynamoDB's typed JSON through boto3's own serializers.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from model.cells import Cell
from model.contract import CELL_KEY

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def cell_facts(cell: Cell) -> dict[str, Any]:
    """What a cell stack records about itself: identity, and per service its API versions and release."""
    services = sorted(cell.services.items())
    facts: dict[str, Any] = {
        CELL_KEY: cell.id,
        "tier": cell.tier.value,
        "region": cell.region,
        "account": cell.account,
        "versions": {p.value: list(s.api_versions) for p, s in services},
        "releases": {p.value: s.release for p, s in services},
    }
    # The customer's own channel and window: the pipeline's notices and waits read them here.
    for key in ("notification_channel", "maintenance_window"):
        if getattr(cell, key) is not None:
            facts[key] = getattr(cell, key)
    return facts


def to_item(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values -> a DynamoDB item (`{"S": …}`, `{"M": …}`, `{"L": …}`, `{"N": …}`)."""
    return {key: _SERIALIZER.serialize(value) for key, value in sorted(plain.items())}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item -> plain values (whole numbers as int)."""
    return {key: _plain(_DESERIALIZER.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value
