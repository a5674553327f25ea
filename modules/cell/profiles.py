"""Size profiles and tier policies as data: what `small` … `xlarge` and each tier mean in resources."""

from __future__ import annotations

from dataclasses import dataclass

from model.cells import Engine, SizeProfile, Tier


@dataclass(frozen=True)
class Size:
    """Capacity of one size profile: EKS nodes, Aurora class, pods per service."""

    node_instance_types: tuple[str, ...]
    nodes_min: int
    nodes_desired: int
    nodes_max: int
    db_instance_class: str
    replicas: int
    max_replicas: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class TierPolicy:
    """What a tier changes besides size: resilience, retention, protection."""

    nat_per_az: bool
    db_instances: int
    backup_retention_days: int
    final_snapshot: bool
    protect: bool
    log_retention_days: int


SIZES: dict[SizeProfile, Size] = {
    SizeProfile.SMALL: Size(("t3.large",), 2, 2, 4, "db.t4g.medium", 2, 4, "100m", "256Mi", "500m", "512Mi"),
    SizeProfile.MEDIUM: Size(("m6i.large",), 3, 3, 6, "db.r6g.large", 2, 6, "250m", "512Mi", "1", "1Gi"),
    SizeProfile.LARGE: Size(("m6i.xlarge",), 3, 6, 12, "db.r6g.xlarge", 3, 12, "500m", "1Gi", "2", "2Gi"),
    SizeProfile.XLARGE: Size(("m6i.2xlarge",), 6, 9, 24, "db.r6g.2xlarge", 4, 24, "1", "2Gi", "4", "4Gi"),
}

TIERS: dict[Tier, TierPolicy] = {
    Tier.CANARY: TierPolicy(False, 1, 1, False, False, 14),
    Tier.SMB: TierPolicy(False, 2, 7, False, False, 30),
    Tier.ENTERPRISE: TierPolicy(True, 3, 35, True, True, 365),
}

KUBERNETES_VERSION = "1.33"
DEFAULT_ENGINE_VERSIONS: dict[Engine, str] = {
    Engine.AURORA_POSTGRESQL: "16.4",
    Engine.AURORA_MYSQL: "8.0.mysql_aurora.3.08.0",
}
DB_PORTS: dict[Engine, int] = {Engine.AURORA_POSTGRESQL: 5432, Engine.AURORA_MYSQL: 3306}
DB_LOG_EXPORTS: dict[Engine, tuple[str, ...]] = {
    Engine.AURORA_POSTGRESQL: ("postgresql",),
    Engine.AURORA_MYSQL: ("audit", "error", "slowquery"),  # audit: FSBP RDS.34
}


def engine_version(engine: Engine, version: str | None) -> str:
    """The version string RDS expects; Aurora MySQL's short form `3.08.0` is expanded."""
    if version is None:
        return DEFAULT_ENGINE_VERSIONS[engine]
    if engine is Engine.AURORA_MYSQL and version.startswith("3."):
        return f"8.0.mysql_aurora.{version}"
    return version
