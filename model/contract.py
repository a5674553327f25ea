"""Every name shared across stacks and artefacts (DESIGN.md, integration contract): one owner each.

Names are the documented defaults; stacks read the actual names from Pulumi config.
"""

from __future__ import annotations

from dataclasses import dataclass
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
ROUTER_KEY = "api_key_id"  # the cell router table: API key id -> account, cell, endpoint

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
# Thresholds shared by each cell's CloudWatch alarms and the fleet's Prometheus alerts.
ERROR_RATE_PERCENT = 0.1
P99_LATENCY_MS = 500.0


def error_rate_alarm(cell_id: str) -> str:
    return cell_issue_alarm(IssueType.ERROR_RATE, cell_id)


def latency_alarm(cell_id: str) -> str:
    return cell_issue_alarm(IssueType.P99_LATENCY, cell_id)


def health_alarm(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}health"


def paging_topic(cell_id: str) -> str:
    return f"{alarm_prefix(cell_id)}paging"


def wave_execution_name(rollout: str, index: int) -> str:
    """The child execution of wave `index` of rollout execution `rollout`."""
    return f"{rollout}-w{index}"


# Observability (issue 16): cell_id everywhere, alerts by issue type, dashboards.
@dataclass(frozen=True)
class TelemetryKey:
    """One fact about a workload under each of its names: CloudWatch dimension (and EMF field),
    structured-log field, OpenTelemetry resource attribute, Prometheus label."""

    dimension: str
    log_field: str
    resource_attribute: str
    label: str


CELL_TELEMETRY: dict[str, TelemetryKey] = {
    "cell_id": TelemetryKey(CELL_DIMENSION, CELL_KEY, "cell.id", CELL_KEY),
    "tier": TelemetryKey("Tier", "tier", "cell.tier", "tier"),
    "region": TelemetryKey("Region", "region", "cloud.region", "region"),
    "service": TelemetryKey("Service", "service", "service.name", "service"),
}


class IssueType(StrEnum):
    """What a fleet alert is about; one fleet-level alarm (and one Prometheus alert) per type."""

    ERROR_RATE = "error-rate"
    P99_LATENCY = "p99-latency"


def cell_issue_alarm(issue: IssueType, cell_id: str) -> str:
    """The per-cell alarm of one issue type (the pipeline reads it; it never pages on its own)."""
    return f"{alarm_prefix(cell_id)}{issue.value}"


def fleet_alarm(issue: IssueType, chunk: int | None = None) -> str:
    """The fleet-level composite of an issue type (pages once), or one of its chunks (never pages)."""
    name = f"{DEFAULT_PREFIX}-fleet-{issue.value}"
    return name if chunk is None else f"{name}-part-{chunk:03d}"


GLOBAL_DASHBOARD = f"{DEFAULT_PREFIX}-global"
DEFAULT_PAGING_TOPIC = f"{DEFAULT_PREFIX}-paging"
DEFAULT_RUNBOOK_BASE = "https://runbooks.cellfleet.internal/alerts"


def cell_dashboard(cell_id: str) -> str:
    return f"{DEFAULT_PREFIX}-cell-{cell_id}"


def cell_log_group(cell_id: str) -> str:
    """The log group every service of a cell writes to (tagged with the cell's CELL_TELEMETRY log fields)."""
    return f"/cellfleet/{cell_id}/services"


# Migrations: the database every cell's Aurora cluster creates, which manifests target.
CELL_DATABASE = "product"
# ... and the platform services' global databases (Aurora Global Database primaries, no cell isolation).
PLATFORM_DATABASES = ("identity", "billing")

# GitOps (Argo CD): the names the GitOps tree, the Cell component's bootstrap and the Argo CD deployer share
ARGOCD_NAMESPACE = "argocd"
ARGOCD_APP_PREFIX = "cell-"
RELEASE_TAG_PREFIX = "release-"  # the Git tag of a release's GitOps tree: release-2.5.0
ARGOCD_CONTROLLER_ROLE_KEY = "argocdControllerRoleArn"  # cell stack config: the role Argo CD's controller runs as
ARGOCD_HUB_KUBECONFIG_KEY = "argocdHubKubeconfig"  # cell stack config (secret): the cluster Argo CD runs on


class Delivery(StrEnum):
    """Who applies a cell's workloads: Pulumi (the Cell component) or Argo CD (the GitOps tree)."""

    PULUMI = "pulumi"
    GITOPS = "gitops"


def argocd_application(cell_id: str) -> str:
    """The Argo CD Application of a cell; also the name Argo CD knows the cell's cluster by."""
    return f"{ARGOCD_APP_PREFIX}{cell_id}"


def release_revision(release: str) -> str:
    """The Git revision a cell's Application targets to run `release`."""
    return f"{RELEASE_TAG_PREFIX}{release}"
# Rollout versions (pipeline <-> deployer contract)
DECLARED_RELEASES = "declared"  # previous version of a cell whose services declare different releases:
#   a deployer rolls back by `pulumi up` without the release override (the cell file's releases)
NO_RELEASE = "none"  # previous version of a cell with no registry item (never built): nothing to roll
#   back to; a deployer must refuse (SendTaskFailure), the cell is marked rollback_failed, a person acts

# The Argo CD deployer Lambda (control-plane stack config, GitOps fleets only)
ARGOCD_URL_KEY = "argocdUrl"  # https URL of the Argo CD API server
ARGOCD_TOKEN_SECRET_KEY = "argocdTokenSecretArn"  # noqa: S105 - a config key: the ARN of the secret holding the token

# Health analysis (issue 12): the metrics the cells publish (METRIC_NAMESPACE, CELL_DIMENSION) and how each
# issue type is measured from them, by the cell's alarms and by the pipeline's bake checks (GetMetricData).
REQUESTS_METRIC = "Requests"
ERRORS_METRIC = "Errors"
LATENCY_METRIC = "Latency"  # milliseconds


@dataclass(frozen=True)
class MetricQuery:
    """One published metric under a query id (metric math refers to it by `id`)."""

    id: str
    metric: str
    stat: str


@dataclass(frozen=True)
class IssueMeasure:
    """An issue type as one number per period: the queries and the metric math over them, in `unit`."""

    queries: tuple[MetricQuery, ...]
    expression: str
    unit: str


ISSUE_MEASURES: dict[IssueType, IssueMeasure] = {
    IssueType.ERROR_RATE: IssueMeasure(
        (MetricQuery("errors", ERRORS_METRIC, "Sum"), MetricQuery("requests", REQUESTS_METRIC, "Sum")),
        "IF(requests > 0, 100 * errors / requests, 0)", "%"),
    IssueType.P99_LATENCY: IssueMeasure((MetricQuery("latency", LATENCY_METRIC, "p99"),), "latency", "ms"),
}


# Cell lifecycle (decommission path): the cell database's names the check and the cell module share
def database_cluster(cell_id: str) -> str:
    """The cell's Aurora cluster identifier."""
    return f"{cell_id}-aurora"


def final_snapshot(cluster_identifier: str) -> str:
    """The snapshot RDS takes when a protected cluster is deleted (never skipped for protected databases)."""
    return f"{cluster_identifier}-final"
