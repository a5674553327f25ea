"""Customer notices, first rollouts and failed rollbacks (issue 12), on moto's execution mode.

The notice goes to the cell's own channel (`notification_channel` of its cell file, recorded in
the registry by the cell stack) only after the approval, naming the window and the version; a
rejected approval sends a cancellation, a rollback a rollback notice. A cell the pipeline never
deployed rolls back to its declared release; a rollback that fails is named in the rollout's
error and in the `wave_failed` notification.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT
from model.cells import Fleet
from model.contract import CELL_KEY
from pipelines.inputs import rollout_input
from pipelines.waves import Plan
from tests.support import emulator as em
from tests.support import fleets
from tests.support.fleets import policy_plan

VERSION = "2.5.0"
DECLARED = "2.4.0"  # every service of the sample cells declares 2.4.0
FAST = fleets.FAST_SETTINGS
ORDERED = "{cells: [enterprise-us-hipaa, enterprise-eu-standard, enterprise-*]}"
POLICY = fleets.rollout_policy(fleets.CANARY_WAVE, fleets.SMB_WAVE, fleets.enterprise_wave(ORDERED))
FLEET: Fleet = load_fleet(REPO_ROOT)


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return policy_plan(tmp_path_factory.mktemp("fleet"), POLICY)


@pytest.fixture
def env(plan: Plan) -> Iterator[em.Emulated]:
    with em.emulated_fleet(plan, FLEET) as emulated:
        yield emulated


def _customer(driver: em.Driver, cell: str) -> list[tuple[str, str]]:
    """(channel, event) of everything the driver saw about `cell`, in publish order."""
    seen = sorted((r.sent, r.channel, r.body.get("event", "")) for r in driver.log
                  if r.body.get("cell_id") == cell and r.channel != "answered")
    return [(channel, event) for _, channel, event in seen]


def test_rejected_approval_sends_a_cancellation_and_never_a_notice(env: em.Emulated, plan: Plan) -> None:
    first, second = plan.waves[-1].cells[:2]

    def on_approval(message: dict[str, str]) -> em.Answer:
        return ("failure", "Rejected", "change freeze") if message.get("cell_id") == second else ("success",)

    driver = em.Driver(env, on_approval=on_approval)
    result = driver.run(em.start(env, rollout_input(plan, VERSION, FAST)), timeout=90)
    assert (result["status"], result["error"]) == ("FAILED", "ApprovalRejected")
    assert _customer(driver, second) == [("approval", "approval_requested"),
                                         ("notification", "customer_deploy_cancelled")]
    [cancelled] = driver.notifications("customer_deploy_cancelled")
    assert (cancelled["channel"], cancelled["version"]) == (FLEET.cell(second).notification_channel, VERSION)
    assert cancelled["reason"] == f"cell {second}: approval rejected: change freeze"
    # The first enterprise cell was deployed, then rolled back: its customer hears of both.
    assert _customer(driver, first) == [
        ("approval", "approval_requested"), ("notification", "customer_notice"), ("deploy", ""),
        ("notification", "customer_deploy_completed"), ("deploy", ""), ("notification", "customer_rolled_back")]
    [notice] = [n for n in driver.notifications("customer_notice") if n["cell_id"] == first]
    declared = FLEET.cell(first)
    assert (notice["channel"], notice["window"], notice["version"], notice["previous_version"]) == (
        declared.notification_channel, declared.maintenance_window, VERSION, DECLARED)
    [rolled_back] = driver.notifications("customer_rolled_back")
    assert (rolled_back["cell_id"], rolled_back["channel"], rolled_back["rolled_back_to"]) == (
        first, declared.notification_channel, DECLARED)


def test_first_rollout_rolls_back_to_the_declared_release(env: em.Emulated, plan: Plan) -> None:
    """No rollout state yet (the pipeline never deployed these cells): previous = declared release."""
    ddb = env.client("dynamodb")
    for item in ddb.scan(TableName=env.targets.rollout_table)["Items"]:
        ddb.delete_item(TableName=env.targets.rollout_table, Key={CELL_KEY: item[CELL_KEY]})
    smb = plan.waves[1].cells
    failing = smb[-1]

    def on_deploy(detail: dict[str, str]) -> em.Answer:
        if detail["action"] == "deploy" and detail["cell_id"] == failing:
            return ("failure", "PulumiUpFailed", "quota exceeded")
        return ("success",)

    driver = em.Driver(env, on_deploy=on_deploy)
    result = driver.run(em.start(env, rollout_input(plan, VERSION, FAST)), timeout=90)
    assert (result["status"], result["error"]) == ("FAILED", "DeployFailed")
    assert {d["previous_version"] for d in driver.requests("deploy")} == {DECLARED}
    assert {d["version"] for d in driver.requests("rollback")} == {DECLARED}
    state = em.rollout_state(env)
    assert {state[c]["deployed_version"] for c in smb} == {DECLARED}
    assert "none" not in {s.get("deployed_version") for s in state.values()}


def test_a_failed_rollback_is_named_in_the_error_and_the_notification(env: em.Emulated, plan: Plan) -> None:
    smb = plan.waves[1].cells
    failing, stuck, silent = smb[-1], smb[0], smb[1]

    def on_deploy(detail: dict[str, str]) -> em.Answer:
        if detail["action"] == "deploy" and detail["cell_id"] == failing:
            return ("failure", "PulumiUpFailed", "quota exceeded")
        if detail["action"] == "rollback" and detail["cell_id"] == stuck:
            return ("failure", "PulumiUpFailed", "state locked")
        if detail["action"] == "rollback" and detail["cell_id"] == silent:
            return None  # never answered: the rollback times out
        return ("success",)

    driver = em.Driver(env, on_deploy=on_deploy)
    result = driver.run(em.start(env, rollout_input(plan, VERSION, {**FAST, "deploy_timeout_seconds": 6})),
                        timeout=90)
    assert (result["status"], result["error"]) == ("FAILED", "DeployFailed")
    assert "a person must act" in result["cause"]
    assert stuck in result["cause"] and silent in result["cause"]
    [failed] = driver.notifications("wave_failed")
    assert "a person must act" in failed["cause"]
    # Exactly the cells the registry marks rollback_failed (on a loaded machine an answered rollback
    # may also miss the short timeout: it is then named too, as it should be).
    state = em.rollout_state(env)
    marked = {c for c in smb if state[c]["status"] == "rollback_failed"}
    assert marked >= {stuck, silent}
    assert sorted(failed["rollback_failed"]) == sorted(marked)


WINDOW_POLICY = fleets.rollout_policy(fleets.CANARY_WAVE, fleets.enterprise_wave(ORDERED, notifications=False),
                                      fleets.SMB_WAVE)


def test_an_enterprise_cell_waits_for_its_maintenance_window(tmp_path: Path) -> None:
    """Right after the canary: one cell's window opens ~40 s after the start; another's first opening
    is already too late for the deploy estimate, so it skips it and waits for its second one (~75 s)."""
    from datetime import UTC, datetime, timedelta

    from pipelines.windows import Opening

    plan = policy_plan(tmp_path, WINDOW_POLICY)
    first, second = plan.waves[1].cells[:2]
    with em.emulated_fleet(plan, FLEET) as env:
        now = datetime.now(UTC).replace(microsecond=0)
        openings = {
            first: [Opening(now + timedelta(seconds=40), now + timedelta(minutes=5))],
            second: [Opening(now - timedelta(hours=1), now - timedelta(minutes=30)),
                     Opening(now + timedelta(seconds=75), now + timedelta(minutes=5))],
        }
        driver = em.Driver(env)
        result = driver.run(em.start(env, rollout_input(plan, VERSION, FAST, openings=openings)), timeout=150)
        assert result["status"] == "SUCCEEDED", result
        # The execution history shows each wait: the batch execution's Wait state ends at the opening.
        sfn = env.client("stepfunctions")
        waits = []
        for execution in sfn.list_executions(stateMachineArn=env.machines["batch"])["executions"]:
            events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            waits += [e["timestamp"] for e in events
                      if e.get("stateExitedEventDetails", {}).get("name") == "Window: wait for opening"]
    assert len(waits) == 2  # one wait per windowed cell, in deploy order (one at a time)
    waited = dict(zip((first, second), sorted(waits), strict=True))
    early = timedelta(seconds=1)  # moto's Wait on a timestamp may end up to ~0.1 s before it
    assert waited[first] >= openings[first][0].start - early
    assert waited[second] >= openings[second][1].start - early  # the passed opening was skipped, not used
    sent = {r.body["cell_id"]: r.sent for r in driver.log if r.channel == "deploy"}
    for cell, opening in ((first, openings[first][0]), (second, openings[second][1])):
        assert sent[cell] >= (opening.start - early).timestamp() * 1000, cell  # the deploy waited for the opening
        [notice] = [n for n in driver.notifications("customer_notice") if n["cell_id"] == cell]
        assert notice["openings"] == [o.to_json() for o in openings[cell]]
