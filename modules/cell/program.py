"""The per-cell stack program: build the Cell component from one cell's variables and export outputs."""

from __future__ import annotations

import pulumi
from pydantic import ValidationError

from fleet.contract import (
    CONFIG_NAMESPACE,
    DEFAULT_REGISTRY_REGION,
    DEFAULT_REGISTRY_TABLE,
    REGISTRY_REGION_KEY,
    REGISTRY_ROLE_KEY,
    REGISTRY_TABLE_KEY,
    RELEASE_KEY,
)
from fleet.model import Cell as CellModel
from modules.cell.args import cell_args
from modules.cell.component import Cell


def cell_program(cell: CellModel) -> None:
    """Run inside a Pulumi program: the cell's component, its outputs exported on the stack."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    release = config.get(RELEASE_KEY)
    if release is not None:
        try:
            cell = cell.with_release(release)
        except ValidationError:
            raise pulumi.RunError(f"config {CONFIG_NAMESPACE}:{RELEASE_KEY}: {release!r} is not a semantic version") from None
    args = cell_args(
        cell,
        config.get(REGISTRY_TABLE_KEY) or DEFAULT_REGISTRY_TABLE,
        registry_region=config.get(REGISTRY_REGION_KEY) or DEFAULT_REGISTRY_REGION,
        registry_role_arn=config.get(REGISTRY_ROLE_KEY),
    )
    component = Cell(cell.id, args)
    pulumi.export("cell_id", cell.id)
    pulumi.export("tier", cell.tier.value)
    pulumi.export("region", cell.region)
    pulumi.export("vpc_id", component.vpc_id)
    pulumi.export("cluster_name", component.cluster_name)
    pulumi.export("cluster_endpoint", component.cluster_endpoint)
    pulumi.export("kubeconfig", component.kubeconfig)
    pulumi.export("database_endpoint", component.database_endpoint)
    pulumi.export("database_reader_endpoint", component.database_reader_endpoint)
    pulumi.export("paging_topic_arn", component.paging_topic_arn)
    pulumi.export("alarm_names", component.alarm_names)
