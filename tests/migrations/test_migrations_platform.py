"""A platform migration (`target: platform`): one global database, the same phases, longer waits, approvals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli import app
from fleet.stores import DynamoStore
from migrations.orchestrator import PLATFORM_BLAST_RADIUS, definition, facts, plan_document
from migrations.planner import PLATFORM, PLATFORM_APPROVALS, PLATFORM_WAITS, MigrationPlan
from migrations.state import MigrationState, Status
from migrations.transitions import advance, approve, blockers
from model.cells import Engine
from model.manifest import MigrationTarget, PhaseName, PhaseType
from tests.migrations.test_migrations_orchestrator import REGION, _answer, _drive, _provision, aws  # noqa: F401
from tests.support.fleets import migration_plan

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "2025-01-15-recipient-id-column"
MIGRATION = "2025-02-01-billing-recipient-id"


def _manifest(scripts: str) -> str:
    def script(name: str) -> str:
        return f"migrations/{MIGRATION}/{name}.postgresql.sql"

    return (
        "migration:\n"
        f"  id: {MIGRATION}\n"
        "  description: Billing's recipients by id\n"
        f"  target: {MigrationTarget.PLATFORM.value}\n"
        "  database: billing\n"
        "  change: {table: messages, columns: {to_phone: recipient_id}}\n"
        "  phases:\n"
        f"    - {{name: expand, type: schema, script: {script('expand')}, rollout: [{{cells: [{PLATFORM}]}}]}}\n"
        "    - {name: migrate-code, type: deployment, version: v2.5.0, rollout: standard}\n"
        "    - {name: backfill, type: data}\n"
        "    - {name: migrate-code-readonly, type: deployment, version: v2.6.0, rollout: standard}\n"
        f"    - {{name: contract, type: schema, script: {script('contract')}, rollout: [{{cells: [{PLATFORM}]}}]}}\n"
        + scripts
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("platform")
    shutil.copytree(REPO / "cells", root / "cells")
    folder = root / "migrations" / MIGRATION
    folder.mkdir(parents=True)
    for name in ("expand", "contract"):
        shutil.copy(REPO / "migrations" / SAMPLE / f"{name}.postgresql.sql", folder / f"{name}.postgresql.sql")
    (folder / "manifest.yaml").write_text(_manifest(""), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def plan(root: Path) -> MigrationPlan:
    return migration_plan(root, MIGRATION)


def test_one_database_every_phase_longer_waits(plan: MigrationPlan) -> None:
    assert plan.platform
    assert plan.cells == (PLATFORM,)
    assert plan.engines == {PLATFORM: Engine.AURORA_POSTGRESQL}
    assert [p.name for p in plan.phases] == list(PhaseName)
    for phase in plan.phases:
        [step] = phase.steps
        assert step.cells == (PLATFORM,)
        assert step.wait == PLATFORM_WAITS[phase.name]
        assert step.approval is (phase.name in PLATFORM_APPROVALS)
    assert PLATFORM_WAITS[PhaseName.CONTRACT].days >= 7


def test_contract_waits_for_approval_and_the_readonly_bake(plan: MigrationPlan) -> None:
    state = approve(plan, MigrationState(plan.id), "expand", [PLATFORM])  # a schema change of the whole platform
    for phase in plan.phases[:-1]:
        state = advance(plan, state, PLATFORM, phase=phase.name.value, status="running", at="2025-02-01T00:00:00Z")
        state = advance(plan, state, PLATFORM, phase=phase.name.value, status="complete", at="2025-02-01T00:00:00Z")
    waiting = blockers(plan, state, PLATFORM, "contract", at="2025-02-03T00:00:00Z")
    assert "approval" in waiting
    assert any(w.startswith("migrate-code-readonly on platform to bake until 2025-02-08") for w in waiting)


def test_runbook_says_the_blast_radius_is_the_whole_platform(root: Path) -> None:
    result = CliRunner().invoke(app, ["runbook", MIGRATION, "--root", str(root)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "| Blast radius | **the whole platform**: `billing` is one Aurora Global Database primary" in text
    assert "one cell at a time" not in text
    assert "| Cells | 1 (aurora-postgresql: 1) |" in text
    assert "| Human approvals | 2 |" in text
    per_cell = CliRunner().invoke(app, ["runbook", MIGRATION, "--cell", PLATFORM, "--root", str(root)])
    assert per_cell.exit_code == 0, per_cell.output
    assert f"tier {PLATFORM}" in per_cell.stdout


def test_orchestrator_runs_the_phases_on_the_one_database(root: Path, plan: MigrationPlan) -> None:
    result = CliRunner().invoke(app, ["migrate", "orchestrator", MIGRATION, "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == definition(plan)
    given = CliRunner().invoke(app, ["migrate", "orchestrator", MIGRATION, "--input", "--root", str(root)])
    assert given.exit_code == 0, given.output
    assert json.loads(given.stdout) == plan_document(plan)
    rules = facts(plan)
    assert [r["name"] for r in rules] == [p.value for p in PhaseName]
    assert [r["steps"][0]["approval"] for r in rules] == [p in PLATFORM_APPROVALS for p in PhaseName]
    document = plan_document(plan)
    for phase, steps in zip(plan.phases, document["plan"], strict=True):
        [step] = steps
        assert step["wait"] == PLATFORM_WAITS[phase.name].total_seconds()
        assert [c["c"] for b in step["batches"] for c in b["cells"]] == [PLATFORM]


@pytest.mark.slow
@pytest.mark.usefixtures("aws")
def test_platform_deploy_phases_ask_a_person_to_deploy_and_complete_on_moto(plan: MigrationPlan) -> None:
    """No cell deployer serves `platform`: each deployment phase asks the approvals topic to deploy, on moto."""
    run = _provision(plan)
    description = _drive(run, plan, _answer())
    assert description["status"] == "SUCCEEDED", description
    deployments = [p for p in plan.phases if p.type is PhaseType.DEPLOYMENT]
    asked = [s for s in run.seen if s["kind"] == "approval" and "instructions" in s]
    assert [(a["phase"], a["version"], a["target"]) for a in asked] == [
        (p.name.value, p.version, PLATFORM) for p in deployments]
    for message, phase in zip(asked, deployments, strict=True):
        assert message["blast_radius"] == PLATFORM_BLAST_RADIUS
        assert f"Deploy {phase.version}" in message["instructions"]
        assert "whole platform" in message["instructions"]
    # no deploy event names `platform` as a cell; the schema and data phases still go to the workers
    work = [s for s in run.seen if s["kind"] == "work"]
    assert not [w for w in work if w["phase"] in {p.name.value for p in deployments}]
    assert sorted(w["phase"] for w in work) == sorted(p.name.value for p in plan.phases if p not in deployments)
    state = DynamoStore(region=REGION).load(plan.id)
    assert all(state.get(PLATFORM, p.name.value).status is Status.COMPLETE for p in plan.phases)


def test_runbook_deploys_the_platform_by_hand_never_a_cell_stack(root: Path) -> None:
    result = CliRunner().invoke(app, ["runbook", MIGRATION, "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "pulumi up --stack platform" not in result.stdout
    assert result.stdout.count("`platform-deploy` message") == 2  # migrate-code and migrate-code-readonly
    assert "blast radius: the whole platform" in result.stdout
    assert "**the whole platform**" in result.stdout
