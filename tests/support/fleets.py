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
