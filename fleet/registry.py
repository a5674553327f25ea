"""The control-plane cell registry item: one schema, written by cell stacks, read by the edge and the pipeline.

Attribute values go to and from DynamoDB's typed JSON through boto3's own serializers.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from fleet.model import Cell

HASH_KEY = "cell_id"
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def cell_facts(cell: Cell) -> dict[str, Any]:
    """What a cell stack records about itself: identity, and per service its API versions and release.

    The pipeline owns the rollout attributes of the same item (`status`, `deployed_version`, …), so
    the cell never writes them.
    """
    services = sorted(cell.services.items())
    return {
        HASH_KEY: cell.id,
        "tier": cell.tier.value,
        "region": cell.region,
        "account": cell.account,
        "versions": {p.value: list(s.api_versions) for p, s in services},
        "releases": {p.value: s.release for p, s in services},
    }


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
