"""Every name shared across stacks and artefacts (DESIGN.md, integration contract): one owner each.

Names are the documented defaults; stacks read the actual names from Pulumi config.
"""

from __future__ import annotations

from enum import StrEnum

# Pulumi config (namespace `cellfleet`)
CONFIG_NAMESPACE = "cellfleet"
REGISTRY_TABLE_KEY = "registryTable"
REGISTRY_REGION_KEY = "registryRegion"
REGISTRY_ROLE_KEY = "registryRoleArn"
ROLLOUT_TABLE_KEY = "rolloutTable"
RELEASE_KEY = "release"  # set by the deployer: `pulumi up --config cellfleet:release=V`
RELEASE_CONFIG = f"{CONFIG_NAMESPACE}:{RELEASE_KEY}"

# Reserved stack names (every other stack name is a cell id)
LANDING_ZONE_STACK = "landing-zone"
CONTROL_PLANE_STACK = "control-plane"

# Control-plane resources
DEFAULT_PREFIX = "cellfleet"
DEFAULT_REGISTRY_TABLE = "cellfleet-cell-registry"
DEFAULT_ROLLOUT_TABLE = "cellfleet-rollout-state"
DEFAULT_MIGRATIONS_TABLE = "cellfleet-migrations"
DEFAULT_ROUTER_TABLE = "cellfleet-customer-cells"
DEFAULT_REGISTRY_REGION = "us-east-1"
DEFAULT_EVENT_BUS = "cellfleet-deployments"
DEFAULT_APPROVALS_TOPIC = "cellfleet-approvals"
DEFAULT_NOTIFICATIONS_TOPIC = "cellfleet-notifications"
MACHINES = ("rollout", "wave", "batch")

# Table layouts: hash key (and range key) of each table
CELL_KEY = "cell_id"  # registry (declared facts, owned by the cell stacks) and rollout state (owned by the pipeline)
MIGRATION_KEY = "migration_id"
MIGRATION_RANGE_KEY = "key"
ROUTER_KEY = "account_id"

# EventBridge
EVENT_SOURCE = "cellfleet.pipeline"
DEPLOY_DETAIL_TYPE = "CellDeployRequested"
MIGRATION_EVENT_SOURCE = "cellfleet.migrations"
MIGRATION_DETAIL_TYPE = "CellMigrationRequested"

# CloudWatch
METRIC_NAMESPACE = "Cellfleet/Product"
CELL_DIMENSION = "CellId"


class RolloutStatus(StrEnum):
    """A cell's rollout state, as the pipeline records it in the rollout-state table."""

    PENDING = "pending"
    DEPLOYING = "deploying"
    BAKING = "baking"
    DEPLOYED = "deployed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"


def alarm_prefix(cell_id: str) -> str:
    """Every CloudWatch alarm of a cell starts with this; any in ALARM means the cell is unhealthy."""
    return f"cell-{cell_id}-"


ALARM_GLOB = alarm_prefix("*").rstrip("-")  # every cell alarm, as an IAM resource pattern


def error_rate_alarm(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}error-rate"


def latency_alarm(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}p99-latency"


def health_alarm(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}health"


def paging_topic(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}paging"


def wave_execution_name(rollout: str, index: int) -> str:
    """The child execution of wave `index` of rollout execution `rollout`."""
    return f"{rollout}-w{index}"


# Rollout versions (pipeline <-> deployer contract)
DECLARED_RELEASES = "declared"  # previous version of a cell whose services declare different releases:
#   a deployer rolls back by `pulumi up` without the release override (the cell file's releases)
NO_RELEASE = "none"  # previous version of a cell with no registry item (never built): nothing to roll
#   back to; a deployer must refuse (SendTaskFailure), the cell is marked rollback_failed, a person acts
