"""Reads of the control plane on AWS that several commands share."""

from __future__ import annotations

from typing import Any

from model.contract import CELL_KEY
from model.errors import InputError, InputErrors

Declared = dict[str, dict[str, tuple[str, ...]]]  # a landing_zone.readiness.Support read off the registry


def registry_support(table: Any) -> Declared:
    """Read every item of the registry table (a boto3 DynamoDB `Table`), paging through the scan."""
    out: Declared = {}
    kwargs: dict[str, Any] = {"ProjectionExpression": f"{CELL_KEY}, versions"}
    while True:
        page = table.scan(**kwargs)
        for item in page.get("Items", []):
            versions = item.get("versions") or {}
            out[str(item[CELL_KEY])] = {str(k): tuple(sorted(str(v) for v in vs)) for k, vs in versions.items()}
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def read_registry(table_name: str, region: str | None, endpoint: str | None = None) -> Declared:
    """What every cell serves, from the control-plane registry; an input error when it cannot be read."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resource: Any = boto3.resource("dynamodb", region_name=region, endpoint_url=endpoint)
        return registry_support(resource.Table(table_name))
    except (BotoCoreError, ClientError) as exc:
        raise InputErrors([InputError(f"dynamodb:{table_name}", 1, "registry", f"cannot read the registry: {exc}")]) from None


# Activation gate (issue 14): the releases each cell runs, as the cell stacks record them.
Releases = dict[str, dict[str, str]]  # an activation.gate.Releases read off the registry


def registry_releases(table: Any) -> Releases:
    """cell -> service -> release from every item of the registry table (a boto3 `Table`), paging the scan."""
    out: Releases = {}
    kwargs: dict[str, Any] = {"ProjectionExpression": f"{CELL_KEY}, releases"}
    while True:
        page = table.scan(**kwargs)
        for item in page.get("Items", []):
            out[str(item[CELL_KEY])] = {str(k): str(v) for k, v in (item.get("releases") or {}).items()}
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def read_releases(table_name: str, region: str | None, endpoint: str | None = None) -> Releases:
    """What release every cell runs, from the control-plane registry; an input error when it cannot be read."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resource: Any = boto3.resource("dynamodb", region_name=region, endpoint_url=endpoint)
        return registry_releases(resource.Table(table_name))
    except (BotoCoreError, ClientError) as exc:
        raise InputErrors([InputError(f"dynamodb:{table_name}", 1, "registry", f"cannot read the registry: {exc}")]) from None
