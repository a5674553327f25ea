"""Typed arguments of the Cell component, and `cell_args`: the one mapping from the fleet model.

The component never sees the pydantic `Cell`; everything it needs is here, per concern.
Structural values (counts, switches that decide which resources exist) are plain; values
passed straight to resources are `pulumi.Input`s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from model.cells import Cell
from model.contract import (
    DEFAULT_REGISTRY_REGION,
    ERROR_RATE_PERCENT,
    P99_LATENCY_MS,
    cell_log_group,
    database_cluster,
    error_rate_alarm,
    health_alarm,
    latency_alarm,
)
from model.registry import cell_facts
from modules.cell.gitops_bootstrap import GitOpsBootstrapArgs, gitops_args
from modules.cell.profiles import (
    DB_LOG_EXPORTS,
    DB_PORTS,
    KUBERNETES_VERSION,
    SIZES,
    TIERS,
    engine_version,
)
from modules.cell.subnets import subnet_cidrs
from modules.cell.telemetry import log_group_tags
from modules.cell.workloads import workload_manifests

MANAGED_BY = "cellfleet"


@dataclass(frozen=True)
class NetworkArgs:
    region: pulumi.Input[str]
    cidr_block: pulumi.Input[str]
    private_subnet_cidrs: Sequence[str]
    public_subnet_cidrs: Sequence[str]
    nat_per_az: bool
    flow_log_retention_days: pulumi.Input[int]


@dataclass(frozen=True)
class ComputeArgs:
    cluster_name: pulumi.Input[str]
    kubernetes_version: pulumi.Input[str]
    public_access_cidrs: Sequence[str]  # empty: the API endpoint is private only
    log_retention_days: pulumi.Input[int]
    node_instance_types: Sequence[pulumi.Input[str]]
    nodes_min: pulumi.Input[int]
    nodes_desired: pulumi.Input[int]
    nodes_max: pulumi.Input[int]


@dataclass(frozen=True)
class DataArgs:
    cluster_identifier: pulumi.Input[str]
    engine: str
    engine_version: pulumi.Input[str]
    port: int
    instance_class: pulumi.Input[str]
    instances: int
    customer_managed_key: bool
    backup_retention_days: pulumi.Input[int]
    final_snapshot: bool
    protect: bool
    log_exports: Sequence[pulumi.Input[str]]
    maintenance_window: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class ObservabilityArgs:
    error_rate_alarm: pulumi.Input[str]
    latency_alarm: pulumi.Input[str]
    health_alarm: pulumi.Input[str]
    error_rate_percent: pulumi.Input[float]
    p99_latency_ms: pulumi.Input[float]
    log_group_name: pulumi.Input[str]
    log_retention_days: pulumi.Input[int]
    paging_topic_name: pulumi.Input[str]
    log_group_tags: Mapping[str, str] = field(default_factory=dict)  # modules.cell.telemetry


@dataclass(frozen=True)
class RegistrationArgs:
    table_name: pulumi.Input[str]
    region: pulumi.Input[str]
    facts: Mapping[str, Any]  # fleet.registry.cell_facts: the item's attributes, endpoints aside
    role_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class CellArgs:
    """Everything the Cell component builds from, grouped by concern."""

    cell_id: str
    tier: str
    account: str
    region: str
    default_tags: Mapping[str, str]
    network: NetworkArgs
    compute: ComputeArgs
    data: DataArgs
    observability: ObservabilityArgs
    registration: RegistrationArgs
    workloads: Sequence[Mapping[str, Any]] = field(default_factory=list)
    gitops: GitOpsBootstrapArgs | None = None  # GitOps delivery: Argo CD applies `workloads`, not the component


def cell_args(
    cell: Cell,
    registry_table: str,
    *,
    registry_region: str = DEFAULT_REGISTRY_REGION,
    registry_role_arn: str | None = None,
    argocd_controller_role_arn: str | None = None,
    argocd_hub_kubeconfig: pulumi.Input[str] | None = None,
) -> CellArgs:
    """Map one validated cell (tier defaults applied) to the component's arguments."""
    size = SIZES[cell.size]
    tier = TIERS[cell.tier]
    private, public = subnet_cidrs(cell.vpc_cidr, cell.availability_zones)
    tags = {**cell.tags, "cell_id": cell.id, "tier": cell.tier.value, "managed_by": MANAGED_BY}
    return CellArgs(
        cell_id=cell.id,
        tier=cell.tier.value,
        account=cell.account,
        region=cell.region,
        default_tags=dict(sorted(tags.items())),
        network=NetworkArgs(
            region=cell.region,
            cidr_block=str(cell.vpc_cidr),
            private_subnet_cidrs=private,
            public_subnet_cidrs=public,
            nat_per_az=tier.nat_per_az,
            flow_log_retention_days=tier.log_retention_days,
        ),
        compute=ComputeArgs(
            cluster_name=cell.id,
            kubernetes_version=KUBERNETES_VERSION,
            public_access_cidrs=[str(cidr) for cidr in cell.public_access_cidrs],
            log_retention_days=tier.log_retention_days,
            node_instance_types=list(size.node_instance_types),
            nodes_min=size.nodes_min,
            nodes_desired=size.nodes_desired,
            nodes_max=size.nodes_max,
        ),
        data=DataArgs(
            cluster_identifier=database_cluster(cell.id),
            engine=cell.database.engine.value,
            engine_version=engine_version(cell.database.engine, cell.database.engine_version),
            port=DB_PORTS[cell.database.engine],
            instance_class=size.db_instance_class,
            instances=tier.db_instances,
            customer_managed_key=cell.hipaa,
            backup_retention_days=tier.backup_retention_days,
            final_snapshot=tier.final_snapshot,
            protect=tier.protect,
            log_exports=list(DB_LOG_EXPORTS[cell.database.engine]),
            maintenance_window=cell.maintenance_window,
        ),
        observability=ObservabilityArgs(
            error_rate_alarm=error_rate_alarm(cell.id),
            latency_alarm=latency_alarm(cell.id),
            health_alarm=health_alarm(cell.id),
            error_rate_percent=ERROR_RATE_PERCENT,
            p99_latency_ms=P99_LATENCY_MS,
            log_group_name=cell_log_group(cell.id),
            log_retention_days=tier.log_retention_days,
            paging_topic_name=f"cell-{cell.id}-paging",
            log_group_tags=log_group_tags(cell),
        ),
        registration=RegistrationArgs(
            table_name=registry_table,
            region=registry_region,
            role_arn=registry_role_arn,
            facts=cell_facts(cell),
        ),
        workloads=workload_manifests(cell),
        gitops=gitops_args(cell, argocd_controller_role_arn, argocd_hub_kubeconfig),
    )
