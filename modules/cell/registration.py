"""Registration: the cell's item in the control plane's registry table (which cell runs what)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from model.contract import CELL_KEY
from model.registry import to_item
from modules.cell.args import CellArgs


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
        lambda resolved: to_item({**args.facts, "endpoints": {k: str(v) for k, v in resolved.items()}})
    )
    return aws.dynamodb.TableItem(
        f"{name}-registry",
        table_name=args.table_name,
        hash_key=CELL_KEY,
        item=pulumi.Output.json_dumps(item, sort_keys=True),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
