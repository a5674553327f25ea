"""Names shared by the cells, the control plane and the pipeline (DESIGN.md, integration contract).

Each is the documented default; stacks read the actual name from Pulumi config.
"""

from __future__ import annotations

CONFIG_NAMESPACE = "cellfleet"
REGISTRY_TABLE_KEY = "registryTable"
REGISTRY_REGION_KEY = "registryRegion"
REGISTRY_ROLE_KEY = "registryRoleArn"
RELEASE_KEY = "release"  # set by the deployer: `pulumi up --config cellfleet:release=V`

DEFAULT_REGISTRY_TABLE = "cellfleet-cell-registry"
DEFAULT_REGISTRY_REGION = "us-east-1"
DEFAULT_EVENT_BUS = "cellfleet-deployments"
DEFAULT_APPROVALS_TOPIC = "cellfleet-approvals"
DEFAULT_NOTIFICATIONS_TOPIC = "cellfleet-notifications"


def alarm_prefix(cell_id: str) -> str:
    """Every CloudWatch alarm of a cell starts with this; any in ALARM means the cell is unhealthy."""
    return f"cell-{cell_id}-"


def error_rate_alarm(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}error-rate"


def latency_alarm(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}p99-latency"


def health_alarm(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}health"
