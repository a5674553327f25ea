"""Synthetic fleets of any size (benchmarks, scale tests): valid cells, spread over regions.

`synthetic_fleet` builds the Fleet in memory; `write_fleet` writes the same cells as cell files
under a fleet root, for what must read them from disk (previews, `fleet diff`).
"""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import IPv4Network
from pathlib import Path

from ruamel.yaml import YAML

from fleet.inputs import policy_document
from model.cells import Cell, Database, Engine, Fleet, Product, ServiceRelease, SizeProfile, Tier
from model.policy import RolloutPolicy, parse_policy
from pipelines.waves import Plan, plan_waves

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1")


def make_cell(cell_id: str, tier: Tier, region: str, index: int) -> Cell:
    enterprise = tier is Tier.ENTERPRISE
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
        maintenance_window="sun:03:00-sun:05:00" if enterprise else None,
        notification_channel="slack://enterprise-releases" if enterprise else None,
    )


def synthetic_cells(size: int, *, enterprise_share: float = 0.1) -> list[Cell]:
    """`size` cells: one canary per 1,000 (at least one), `enterprise_share` enterprise, the rest SMB."""
    canaries = max(1, size // 1000)
    enterprise = int(size * enterprise_share)
    cells = []
    for i in range(size):
        tier = Tier.CANARY if i < canaries else Tier.ENTERPRISE if i < canaries + enterprise else Tier.SMB
        region = REGIONS[i % len(REGIONS)]
        cells.append(make_cell(f"{tier.value[:3]}-{region}-{i:05d}", tier, region, i))
    return sorted(cells, key=lambda c: c.id)


def synthetic_fleet(size: int, *, enterprise_share: float = 0.1) -> Fleet:
    """The synthetic cells as an in-memory Fleet."""
    return Fleet(cells=tuple(synthetic_cells(size, enterprise_share=enterprise_share)))


def write_fleet(root: Path, size: int, *, enterprise_share: float = 0.1) -> list[str]:
    """Write the synthetic cells as `root/cells/<id>.yaml` (complete files, no defaults); return the ids."""
    folder = root / "cells"
    folder.mkdir(parents=True, exist_ok=True)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    ids = []
    for cell in synthetic_cells(size, enterprise_share=enterprise_share):
        with (folder / f"{cell.id}.yaml").open("w", encoding="utf-8") as handle:
            yaml.dump(cell.model_dump(mode="json", exclude_none=True), handle)
        ids.append(cell.id)
    return ids


def synthetic_policy() -> RolloutPolicy:
    """The packaged default policy (the seed's waves, enterprise selected by tier)."""
    return parse_policy(policy_document(Path("/nonexistent")))


def synthetic_plan(fleet: Fleet) -> Plan:
    """The wave plan of a synthetic fleet under the packaged default policy."""
    doc = policy_document(Path("/nonexistent"))
    return plan_waves(fleet, parse_policy(doc), doc)


PROJECT_CODE = ("model", "fleet", "modules", "pipelines", "landing_zone", "migrations", "activation", "gitops", "statuspage",
                "observability", "runtime", "__main__.py",
                "Pulumi.yaml", "requirements.txt", "pyproject.toml")


def scaffold_repo(dest: Path, source: Path) -> None:
    """A throw-away fleet repository at `dest`: the project's code from `source`, committed on `main`.

    Callers add cells (`write_fleet`, or copies of sample cells) before the commit is made
    with `commit_all`. The sample migrations are left out: they name sample cells.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-*")
    for name in PROJECT_CODE:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=ignore)
        elif path.exists():
            shutil.copy2(path, dest / name)
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)


def commit_all(repo: Path, message: str) -> None:
    """Commit everything in the work tree of `repo`."""
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=fleet@example.com", "-c", "user.name=fleet",
                    "commit", "-qm", message], check=True)
