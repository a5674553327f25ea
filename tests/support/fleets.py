"""Loading a fleet root the way the tool does, for tests: the wave plan and migration plans."""

from __future__ import annotations

import shutil
from pathlib import Path

from fleet.inputs import load_fleet, load_migration, load_plan
from migrations.planner import MigrationPlan
from pipelines.waves import Plan

REPO = Path(__file__).resolve().parents[2]


def wave_plan(root: Path = REPO) -> Plan:
    """The fleet's wave plan from its policy (or the packaged default)."""
    return load_plan(root, load_fleet(root))[1]


def policy_plan(root: Path, policy: str) -> Plan:
    """The wave plan of the sample cells under `policy` (written as `root`'s rollout policy)."""
    (root / "pipelines").mkdir()
    (root / "pipelines" / "rollout.yaml").write_text(policy, encoding="utf-8")
    shutil.copytree(REPO / "cells", root / "cells")
    return wave_plan(root)


def migration_plan(root: Path, migration_id: str) -> MigrationPlan:
    """One migration of the fleet under `root`, planned and linted."""
    fleet = load_fleet(root)
    return load_migration(root, migration_id, fleet, load_plan(root, fleet)[1])


# Rollout policies for moto tests: one-minute bakes, settings that let a rollout finish in seconds.
FAST_SETTINGS = {"bake_seconds": 0, "health_check_interval_seconds": 1, "deploy_timeout_seconds": 30}
_BAKE = "    bake: {min: 1m, max: 1m}\n    health_check_interval: 30s\n"
CANARY_WAVE = "  - name: canary\n    select: {tier: canary}\n" + _BAKE
SMB_WAVE = "  - name: smb\n    select: {tier: smb}\n" + _BAKE + "    max_concurrency: 25\n"


def enterprise_wave(select: str = "{tier: enterprise}", *, notifications: bool = True) -> str:
    """The enterprise wave: one cell at a time, approval and customer notices (and the wave's channel)."""
    wave = ("  - name: enterprise\n    select: " + select + "\n" + _BAKE
            + "    one_at_a_time: true\n    approval: true\n    notify_customers: true\n")
    return wave + ("    notifications: [slack://enterprise-releases]\n" if notifications else "")


def rollout_policy(*waves: str) -> str:
    """A rollout policy file's text with `waves` in order."""
    return "waves:\n" + "".join(waves)
