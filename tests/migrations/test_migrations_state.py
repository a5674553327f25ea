"""State transitions on both stores (JSON file, DynamoDB on moto) and a property: no early contract."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from typer.testing import CliRunner

from fleet.cli import app
from fleet.stores import DynamoStore, JsonStore, StaleStateError, table_definition
from migrations.planner import MigrationPlan
from migrations.progress import render_text, status_view
from migrations.state import MigrationState, Status
from migrations.transitions import TransitionError, advance, approve, can_rollback, fail, rollback
from model.cells import Tier
from tests.support.fleets import migration_plan

REPO = Path(__file__).resolve().parents[2]
MIGRATION = "2025-01-15-recipient-id-column"
AT = "2025-01-15T10:00:00Z"
BAKED = "2025-02-15T10:00:00Z"  # after every bake of the sample
PLAN = migration_plan(REPO, MIGRATION)


def _run_phase(plan: MigrationPlan, state: MigrationState, phase: str) -> MigrationState:
    for step in plan.phase(phase).steps:
        if step.approval or (phase == "contract"):
            state = approve(plan, state, phase, [c for c in step.cells if plan.tiers[c] is Tier.ENTERPRISE
                                                 or step.approval])
        for cell in step.cells:
            state = advance(plan, state, cell, phase=phase, at=AT)
            state = advance(plan, state, cell, phase=phase, at=AT)
    return state


def _exercise(store: JsonStore | DynamoStore) -> None:
    plan = PLAN
    state = store.load(plan.id)
    with pytest.raises(TransitionError, match="waiting for canary-us-internal"):
        advance(plan, state, "smb-us-1", phase="expand", at=AT)
    with pytest.raises(TransitionError, match="waiting for expand on canary-us-internal"):
        advance(plan, state, "canary-us-internal", phase="migrate-code", at=AT)
    state = store.save(advance(plan, state, "canary-us-internal", at=AT))
    assert store.load(plan.id).get("canary-us-internal", "expand").status is Status.RUNNING
    with pytest.raises(StaleStateError):
        store.save(MigrationState(plan.id, state.cells, state.approvals, 0))
    state = store.save(fail(plan, store.load(plan.id), "canary-us-internal", None, AT, "lock timeout"))
    loaded = store.load(plan.id)
    assert loaded.get("canary-us-internal", "expand").error == "lock timeout"
    state = store.save(advance(plan, loaded, "canary-us-internal", at=AT))  # retry after failure
    state = store.save(advance(plan, state, "canary-us-internal", at=AT))
    for phase in ("expand", "migrate-code"):
        state = _run_phase(plan, state, phase) if phase != "expand" else _run_phase_rest(plan, state)
    state = store.save(state)
    state = store.save(advance(plan, store.load(plan.id), "canary-us-internal", phase="backfill", at=AT))
    state = store.save(advance(plan, state, "canary-us-internal", phase="backfill", rows_done=420,
                               rows_total=1000, at=AT))
    view = status_view(plan, store.load(plan.id))
    text = render_text(view)
    assert "Current: Backfilling canary-us-internal (42% of rows)" in text
    assert "Next: smb-us-2 backfill (waiting for canary-us-internal)" in text
    state = store.save(rollback(plan, store.load(plan.id), "canary-us-internal", None))
    assert store.load(plan.id).get("canary-us-internal", "backfill").status is Status.PENDING
    with pytest.raises(TransitionError, match="roll back migrate-code on canary-us-internal first"):
        rollback(plan, state, "canary-us-internal", "expand")


def _run_phase_rest(plan: MigrationPlan, state: MigrationState) -> MigrationState:
    for step in plan.phase("expand").steps[1:]:
        if step.approval:
            state = approve(plan, state, "expand", list(step.cells))
        for cell in step.cells:
            state = advance(plan, advance(plan, state, cell, at=AT), cell, at=AT)
    return state


def test_json_store_transitions(tmp_path: Path) -> None:
    store = JsonStore(tmp_path)
    _exercise(store)
    data = json.loads(store.path(MIGRATION).read_text())
    assert data["cells"]["smb-us-1"]["expand"]["status"] == "complete"


def test_dynamodb_store_transitions() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition())
        _exercise(DynamoStore(client=client))


def test_contract_gates_and_point_of_no_return() -> None:
    plan = PLAN
    state = MigrationState(plan.id)
    for phase in ("expand", "migrate-code", "backfill"):
        state = _run_phase(plan, state, phase)
    with pytest.raises(TransitionError, match="waiting for migrate-code-readonly on canary-us-internal"):
        advance(plan, state, "canary-us-internal", phase="contract", at=AT)
    state = _run_phase(plan, state, "migrate-code-readonly")
    assert can_rollback(plan, state)
    with pytest.raises(TransitionError, match="migrate-code-readonly on canary-us-internal to bake until"):
        advance(plan, state, "canary-us-internal", phase="contract", at=AT)
    state = advance(plan, state, "canary-us-internal", phase="contract", at=BAKED)
    assert not can_rollback(plan, state)
    with pytest.raises(TransitionError, match="point of no return"):
        rollback(plan, state, "smb-us-1", None)
    state = advance(plan, state, "canary-us-internal", phase="contract", at=BAKED)
    for cell in plan.phase("contract").steps[1].cells:
        state = advance(plan, advance(plan, state, cell, phase="contract", at=BAKED), cell, phase="contract", at=BAKED)
    with pytest.raises(TransitionError, match="waiting for approval"):
        advance(plan, state, "enterprise-us-hipaa", phase="contract", at=AT)


def test_cli_records_and_prints_status(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(REPO / "cells", tmp_path / "cells")
    shutil.copytree(REPO / "migrations" / MIGRATION, tmp_path / "migrations" / MIGRATION)
    run = CliRunner().invoke
    root = ["--root", str(tmp_path)]
    assert run(app, ["migrate", "advance", MIGRATION, "--cell", "canary-us-internal", "--at", AT, *root]).exit_code == 0
    bad = run(app, ["migrate", "advance", MIGRATION, "--cell", "smb-us-1", "--phase", "contract", *root])
    assert bad.exit_code == 1
    assert "waiting for" in bad.stderr
    result = run(app, ["migrate", "status", MIGRATION, "--format", "json", *root])
    view = json.loads(result.stdout)
    assert view["current"][0]["cell"] == "canary-us-internal"
    assert view["status"] == "in_progress"
    text = run(app, ["migrate", "status", MIGRATION, *root]).stderr
    assert text.splitlines()[0].endswith("0% complete (0/70 cell-phases)")
    assert "Current: Expanding canary-us-internal" in text


COMMANDS = st.tuples(st.sampled_from(["advance", "complete", "fail", "rollback", "approve"]),
                     st.sampled_from(list(PLAN.cells)), st.sampled_from([p.name.value for p in PLAN.phases]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(COMMANDS, max_size=120), st.booleans())
def test_no_sequence_of_commands_reaches_contract_early(commands: list[tuple[str, str, str]], fast: bool) -> None:
    plan = PLAN
    state = MigrationState(plan.id)
    if fast:  # start near the gate so contract is actually within reach
        for phase in ("expand", "migrate-code", "backfill"):
            state = _run_phase(plan, state, phase)
    for kind, cell, phase in commands:
        try:
            if kind == "advance":
                state = advance(plan, state, cell, phase=phase, at=AT)
            elif kind == "complete":
                state = advance(plan, state, cell, at=AT)
            elif kind == "fail":
                state = fail(plan, state, cell, None, AT, "boom")
            elif kind == "rollback":
                state = rollback(plan, state, cell, None)
            else:
                state = approve(plan, state, phase, [cell])
        except TransitionError:
            pass
        contract_started = [c for c in plan.cells if state.get(c, "contract").status is not Status.PENDING]
        for c in contract_started:  # per-cell fencing: the cell's own read-only code
            assert state.get(c, "migrate-code-readonly").status is Status.COMPLETE
        for c in contract_started:
            if plan.tiers[c] is Tier.ENTERPRISE:
                assert ("contract", c) in state.approvals
        for c in plan.cells:  # no skipped phase
            statuses = [state.get(c, p.name.value).status for p in plan.phases]
            for i, s in enumerate(statuses[1:], 1):
                if s is not Status.PENDING:
                    assert statuses[i - 1] is Status.COMPLETE


def test_canary_contracts_while_smb_cells_still_backfill() -> None:
    """The seed's state: canary-internal in `contract: complete` while smb-us-2 is still backfilling."""
    plan = PLAN
    state = MigrationState(plan.id)
    for phase in ("expand", "migrate-code"):
        state = _run_phase(plan, state, phase)
    canary = "canary-us-internal"
    for phase in ("backfill", "migrate-code-readonly"):
        state = advance(plan, advance(plan, state, canary, phase=phase, at=AT), canary, phase=phase, at=AT)
    state = advance(plan, state, "smb-us-2", phase="backfill", at=AT)
    state = advance(plan, state, "smb-us-2", phase="backfill", rows_done=10, rows_total=100, at=AT)
    state = advance(plan, advance(plan, state, canary, phase="contract", at=BAKED), canary, phase="contract", at=BAKED)
    assert state.get(canary, "contract").status is Status.COMPLETE
    assert state.get("smb-us-2", "backfill").status is Status.RUNNING
    with pytest.raises(TransitionError, match="waiting for migrate-code-readonly on smb-us-2"):
        advance(plan, state, "smb-us-2", phase="contract", at=BAKED)
