"""Reads of the control plane on AWS that several commands share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from model.contract import CELL_KEY, ROUTER_KEY
from model.errors import InputError, InputErrors

T = TypeVar("T")
Declared = dict[str, dict[str, tuple[str, ...]]]  # a landing_zone.readiness.Support read off the registry
Releases = dict[str, dict[str, str]]  # an activation.gate.Releases read off the registry


def scanned(scan: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a DynamoDB scan, page after page (`scan`: a boto3 `Table`'s or client's `scan`)."""
    while True:
        page = scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def registry_support(table: Any) -> Declared:
    """cell -> service -> API versions served, from every item of the registry table (a boto3 `Table`)."""
    return {str(item[CELL_KEY]): {str(k): tuple(sorted(str(v) for v in vs)) for k, vs in (item.get("versions") or {}).items()}
            for item in scanned(table.scan, ProjectionExpression=f"{CELL_KEY}, versions")}


def registry_releases(table: Any) -> Releases:
    """cell -> service -> release, from every item of the registry table (a boto3 `Table`)."""
    return {str(item[CELL_KEY]): {str(k): str(v) for k, v in (item.get("releases") or {}).items()}
            for item in scanned(table.scan, ProjectionExpression=f"{CELL_KEY}, releases")}


def _read(table_name: str, region: str | None, endpoint: str | None, reader: Callable[[Any], T]) -> T:
    """`reader` over the registry table; an input error (not a traceback) when it cannot be read."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resource: Any = boto3.resource("dynamodb", region_name=region, endpoint_url=endpoint)
        return reader(resource.Table(table_name))
    except (BotoCoreError, ClientError) as exc:
        raise InputErrors([InputError(f"dynamodb:{table_name}", 1, "registry", f"cannot read the registry: {exc}")]) from None


def read_registry(table_name: str, region: str | None, endpoint: str | None = None) -> Declared:
    """What every cell serves, from the control-plane registry."""
    return _read(table_name, region, endpoint, registry_support)


def read_releases(table_name: str, region: str | None, endpoint: str | None = None) -> Releases:
    """What release every cell runs, from the control-plane registry."""
    return _read(table_name, region, endpoint, registry_releases)


def router_cells(table: Any) -> dict[str, list[str]]:
    """cell -> the customer accounts the router table sends there (a boto3 `Table`, keyed by ROUTER_KEY)."""
    mapped: dict[str, list[str]] = {}
    for item in scanned(table.scan, ProjectionExpression=f"{ROUTER_KEY}, cell_id, account_id"):
        mapped.setdefault(str(item.get("cell_id", "")), []).append(str(item.get("account_id") or item[ROUTER_KEY]))
    return mapped


def read_router(table_name: str, region: str | None, endpoint: str | None = None) -> dict[str, list[str]]:
    """Which customers the cell router still sends to each cell."""
    return _read(table_name, region, endpoint, router_cells)


def cluster_snapshots(cluster: str, region: str | None, endpoint: str | None = None) -> tuple[str, ...]:
    """The available manual snapshots of an RDS cluster (automated ones go with the cluster); empty when none."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        rds: Any = boto3.client("rds", region_name=region, endpoint_url=endpoint)
        pages = rds.get_paginator("describe_db_cluster_snapshots").paginate(DBClusterIdentifier=cluster, SnapshotType="manual")
        return tuple(sorted(s["DBClusterSnapshotIdentifier"] for page in pages for s in page["DBClusterSnapshots"]
                            if s.get("Status") == "available"))
    except (BotoCoreError, ClientError) as exc:
        raise InputErrors([InputError(f"rds:{cluster}", 1, "snapshots", f"cannot list snapshots: {exc}")]) from None
