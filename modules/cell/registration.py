"""Registration: the cell's item in the control plane's registry table (which cell runs what)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from modules.cell.args import CellArgs

HASH_KEY = "cell_id"


def _attribute(value: Any) -> dict[str, Any]:
    """A plain value as a DynamoDB attribute value (strings, lists, maps)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): _attribute(v) for k, v in sorted(value.items())}}
    if isinstance(value, Sequence):
        return {"L": [_attribute(v) for v in value]}
    raise TypeError(f"unsupported registry attribute {value!r}")


def registry_item(
    cell_id: str,
    tier: str,
    region: str,
    account: str,
    versions: Mapping[str, Sequence[str]],
    releases: Mapping[str, str],
    endpoints: Mapping[str, str],
) -> dict[str, Any]:
    """The registry item in DynamoDB JSON: identity, API versions and release per service, endpoints."""
    plain: dict[str, Any] = {
        HASH_KEY: cell_id,
        "tier": tier,
        "region": region,
        "account": account,
        "versions": versions,
        "releases": releases,
        "endpoints": endpoints,
        "status": "provisioned",
    }
    return {key: _attribute(value) for key, value in sorted(plain.items())}


def build_registration(
    name: str,
    cell: CellArgs,
    endpoints: Mapping[str, pulumi.Input[str]],
    parent: pulumi.Resource,
) -> aws.dynamodb.TableItem:
    """Write the item through a provider for the registry's account and region (control plane)."""
    args = cell.registration
    provider = aws.Provider(
        f"{name}-registry",
        region=args.region,
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=args.role_arn, session_name="cellfleet-registration")]
        if args.role_arn is not None
        else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    item = pulumi.Output.all(**endpoints).apply(
        lambda resolved: registry_item(
            cell.cell_id,
            cell.tier,
            cell.region,
            cell.account,
            args.versions,
            args.releases,
            {k: str(v) for k, v in resolved.items()},
        )
    )
    return aws.dynamodb.TableItem(
        f"{name}-registry",
        table_name=args.table_name,
        hash_key=HASH_KEY,
        item=pulumi.Output.json_dumps(item, sort_keys=True),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
