"""Synthetic fleets of any size (benchmarks, planner tests): valid cells, spread over regions."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

from fleet.model import Cell, Database, Engine, Fleet, Product, ServiceRelease, SizeProfile, Tier
from pipelines.policy import DEFAULT_POLICY, RolloutPolicy, Selection, load_policy

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1")


def make_cell(cell_id: str, tier: Tier, region: str, index: int) -> Cell:
    return Cell(
        id=cell_id,
        tier=tier,
        account=f"{index % 10**12:012d}",
        region=region,
        vpc_cidr=IPv4Network(f"10.{index % 256}.0.0/16"),
        availability_zones=3 if tier is Tier.ENTERPRISE else 2,
        size=SizeProfile.LARGE if tier is Tier.ENTERPRISE else SizeProfile.MEDIUM,
        database=Database(engine=Engine.AURORA_POSTGRESQL),
        services={p: ServiceRelease(release="2.4.0", api_versions=("v1", "v2")) for p in Product},
    )


def synthetic_fleet(size: int, root: Path | None = None, *, enterprise_share: float = 0.1) -> Fleet:
    """`size` cells: one canary per 1,000 (at least one), `enterprise_share` enterprise, the rest SMB."""
    canaries = max(1, size // 1000)
    enterprise = int(size * enterprise_share)
    cells = []
    for i in range(size):
        tier = Tier.CANARY if i < canaries else Tier.ENTERPRISE if i < canaries + enterprise else Tier.SMB
        region = REGIONS[i % len(REGIONS)]
        cells.append(make_cell(f"{tier.value[:3]}-{region}-{i:05d}", tier, region, i))
    return Fleet(root=root or Path("."), cells=tuple(sorted(cells, key=lambda c: c.id)))


def synthetic_policy() -> RolloutPolicy:
    """The packaged default policy, with the enterprise wave selecting by tier (no sample ids)."""
    policy, _ = load_policy(DEFAULT_POLICY.parent.parent / "no-such-fleet")
    waves = tuple(
        w.model_copy(update={"select": Selection(tier=Tier.ENTERPRISE)}) if w.select.cells else w
        for w in policy.waves
    )
    return policy.model_copy(update={"waves": waves})
