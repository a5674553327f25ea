"""End to end on moto's Step Functions execution mode: the generated machines run a real rollout.

The test plays the deployer (the bus delivers `CellDeployRequested` to an SQS queue it polls,
answering SendTaskSuccess/Failure), the approver (approvals topic -> SQS) and the alarm source
(CloudWatch alarm states on `cell-<id>-` alarms). Durations come from the execution input, so
a full rollout runs in seconds with the definitions exactly as generated.

moto notes (see tests/support/moto_parity.py): moto 5.2 needs three parity fixes (the `states`
integration's request/response casing; SendTaskFailure dropping the cause; DescribeAlarms
ignoring StateValue next to a prefix), and it has no PutCompositeAlarm, so the composite
`cell-<id>-health` alarm is not exercised. `em.speed_up()` only makes moto faster (parse each
definition once, reuse SDK clients, poll `.sync` children every 50 ms).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT
from model.contract import error_rate_alarm
from pipelines.inputs import rollout_input, wave_settings
from pipelines.waves import Plan
from tests.support import emulator as em
from tests.support.fleets import wave_plan

VERSION = "2.5.0"
OLD = "2.4.0"
FAST = {"bake_seconds": 0, "health_check_interval_seconds": 1, "deploy_timeout_seconds": 30}

FLEET = load_fleet(REPO_ROOT)
PLAN = wave_plan(REPO_ROOT)


@pytest.fixture
def env() -> Iterator[em.Emulated]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        emulated = em.provision(PLAN)
        em.register_cells(emulated, FLEET)
        em.create_alarms(emulated, list(FLEET.ids))
        yield emulated


def round_sizes(plan: Plan, document: dict[str, Any]) -> Callable[[dict[str, Any]], int]:
    """Deploy requests per concurrent round, by cell: min(max concurrency, its batch's size)."""
    sizes = {}
    for wave, settings in zip(document["waves"], wave_settings(plan, document["settings"]), strict=True):
        for batch in wave["batches"]:
            sizes.update(dict.fromkeys(batch, min(settings["max_concurrency"], len(batch))))
    return lambda detail: sizes[detail["cell_id"]]


def run(env: em.Emulated, driver: em.Driver, settings: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    document = rollout_input(PLAN, VERSION, settings or FAST, **kw)
    driver.round_size = round_sizes(PLAN, document)
    return driver.run(em.start(env, document), timeout=90)


def wave_index(plan: Plan, cell: str) -> int:
    return plan.wave_of(cell).index


def test_happy_path_deploys_in_plan_order_and_records_every_cell(env: em.Emulated) -> None:
    driver = em.Driver(env)
    result = run(env, driver)
    assert result["status"] == "SUCCEEDED", result

    deploys = driver.requests("deploy")
    assert sorted(d["cell_id"] for d in deploys) == sorted(FLEET.ids)
    assert not driver.requests("rollback")
    # Waves in order: no cell of wave N+1 is requested before every cell of wave N was.
    order = [wave_index(PLAN, d["cell_id"]) for d in deploys]
    assert order == sorted(order)
    # The SMB fraction goes out concurrently: every request of the wave is out before any is answered.
    smb1 = PLAN.waves[1]
    asked = [r.at for r in driver.log if r.channel == "deploy" and r.body["cell_id"] in smb1.cells]
    answered = [r.at for r in driver.log if r.channel == "answered" and r.body["cell_id"] in smb1.cells]
    assert len(asked) == len(smb1.cells) > 1
    assert max(asked) < min(answered)
    # Enterprise one at a time, in policy order: approval, then the customer notice, the deploy, the completion.
    enterprise = PLAN.waves[-1]
    assert [d["cell_id"] for d in deploys if d["wave"] == enterprise.name] == list(enterprise.cells)
    for cell in enterprise.cells:
        seen = sorted((r.sent, r.channel, r.body.get("event", "")) for r in driver.log
                      if r.body.get("cell_id") == cell and r.channel != "answered")
        assert [(channel, event) for _, channel, event in seen] == [
            ("approval", "approval_requested"), ("notification", "customer_notice"), ("deploy", ""),
            ("notification", "customer_deploy_completed")], (cell, seen)
        declared = FLEET.cell(cell)
        [notice] = [n for n in driver.notifications("customer_notice") if n["cell_id"] == cell]
        assert (notice["channel"], notice["window"], notice["version"]) == (
            declared.notification_channel or "none", declared.maintenance_window or "none", VERSION)
    # The registry ends with the new version everywhere, remembering the old one.
    registry = em.rollout_state(env)
    for cell in FLEET.ids:
        assert registry[cell]["deployed_version"] == VERSION
        assert registry[cell]["previous_version"] == OLD
        assert registry[cell]["status"] == "deployed"
    assert [n["wave"] for n in driver.notifications("wave_succeeded")] == [w.name for w in PLAN.waves]
    assert driver.notifications("rollout_succeeded")
    _pulumi_up_cannot_erase_rollout_state(env)


def _faults() -> list[Any]:
    cases: list[Any] = []
    for wave in PLAN.waves:
        # One at a time: fault the second cell, so one finished cell must be rolled back too.
        cell = wave.cells[1] if wave.policy.one_at_a_time and len(wave.cells) > 1 else wave.cells[-1]
        kinds = ["deploy-failure", "deploy-timeout", "alarm-during-bake"]
        if wave.policy.approval:
            kinds.append("approval-rejected")
        cases.extend(pytest.param(wave.name, cell, kind, id=f"{wave.name}-{kind}") for kind in kinds)
    return cases


EXPECTED_ERROR = {
    "deploy-failure": "DeployFailed",
    "deploy-timeout": "DeployTimedOut",
    "alarm-during-bake": "CellUnhealthy",
    "approval-rejected": "ApprovalRejected",
}


@pytest.mark.slow
@pytest.mark.parametrize(("wave_name", "cell", "kind"), _faults())
def test_fault_rolls_back_exactly_the_touched_cells_of_the_wave(
    env: em.Emulated, wave_name: str, cell: str, kind: str
) -> None:
    cloudwatch = env.client("cloudwatch")

    def on_deploy(detail: dict[str, Any]) -> em.Answer:
        if detail["action"] != "deploy" or detail["cell_id"] != cell:
            return ("success",)
        if kind == "deploy-failure":
            return ("failure", "PulumiUpFailed", "pulumi up exited 255")
        if kind == "deploy-timeout":
            return None
        if kind == "alarm-during-bake":
            cloudwatch.set_alarm_state(AlarmName=error_rate_alarm(cell), StateValue="ALARM", StateReason="spike")
        return ("success",)

    def on_approval(message: dict[str, Any]) -> em.Answer:
        if kind == "approval-rejected" and message.get("cell_id") == cell:
            return ("failure", "Rejected", "change freeze")
        return ("success",)

    settings = {**FAST, "deploy_timeout_seconds": 3} if kind == "deploy-timeout" else FAST
    driver = em.Driver(env, on_deploy=on_deploy, on_approval=on_approval)
    result = run(env, driver, settings)

    assert result["status"] == "FAILED"
    assert result["error"] == EXPECTED_ERROR[kind], result.get("cause")
    assert result["cause"].startswith(f"cell {cell}:"), result["cause"]

    wave = next(w for w in PLAN.waves if w.name == wave_name)
    later = {c for w in PLAN.waves[wave.index + 1:] for c in w.cells}
    deployed_here = {d["cell_id"] for d in driver.requests("deploy") if d["wave"] == wave_name}
    rolled_back = [d["cell_id"] for d in driver.requests("rollback")]
    assert sorted(rolled_back) == sorted(deployed_here)  # exactly the touched cells, each once
    assert all(d["version"] == OLD and d["previous_version"] == VERSION for d in driver.requests("rollback"))
    assert not later & {r.body.get("cell_id") for r in driver.log}  # later waves never touched
    if kind == "approval-rejected":
        assert cell not in deployed_here
    else:
        assert cell in deployed_here

    registry = em.rollout_state(env)
    for cid in FLEET.ids:
        item = registry[cid]
        if wave_index(PLAN, cid) < wave.index:
            assert (item["deployed_version"], item["status"]) == (VERSION, "deployed"), cid
        elif cid in deployed_here:
            assert (item["deployed_version"], item["status"]) == (OLD, "rolled_back"), cid
        else:
            assert (item["deployed_version"], item["status"]) == (OLD, "deployed"), cid
    failed = driver.notifications("wave_failed")
    assert [(n["wave"], n["error"]) for n in failed] == [(wave_name, EXPECTED_ERROR[kind])]


@pytest.mark.slow
def test_failure_in_a_later_batch_rolls_back_the_earlier_batches_of_the_wave(env: em.Emulated) -> None:
    """Batches of two cells: smb-wave-2 spans four batch executions; the last cell fails.

    The wave's Distributed Map item records the failure on the wave's record; the wave reads it back
    (moto, like AWS, keeps no item's error in the Map's own failure), so the cause still names the cell.
    """
    wave = PLAN.waves[2]
    failing = wave.cells[-1]

    def on_deploy(detail: dict[str, Any]) -> em.Answer:
        if detail["action"] == "deploy" and detail["cell_id"] == failing:
            return ("failure", "PulumiUpFailed", "quota exceeded")
        return ("success",)

    assert [len(b) for b in rollout_input(PLAN, VERSION, FAST, max_batch=2)["waves"][2]["batches"]] == [2, 2, 2, 1]
    driver = em.Driver(env, on_deploy=on_deploy)
    result = run(env, driver, FAST, max_batch=2)
    assert result["status"] == "FAILED"
    assert result["error"] == "DeployFailed"
    assert result["cause"] == f"cell {failing}: deploy of {VERSION} failed: PulumiUpFailed: quota exceeded"
    assert sorted(d["cell_id"] for d in driver.requests("rollback")) == sorted(wave.cells)
    registry = em.rollout_state(env)
    assert {registry[c]["status"] for c in wave.cells} == {"rolled_back"}
    assert {registry[c]["status"] for c in PLAN.waves[3].cells} == {"deployed"}
    assert {registry[c]["deployed_version"] for c in PLAN.waves[3].cells} == {OLD}


@pytest.mark.slow
def test_a_failed_chunk_stops_the_later_chunks_and_its_cause_survives_the_distributed_map(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks of two cells: smb-wave-2 (seven cells) is four items of the wave's Distributed Maps.

    The second chunk's first cell fails: the third and fourth chunks find the failure recorded and
    deploy nothing, the two touched chunks roll back, and the wave fails naming the cell.
    """
    from pipelines import inputs, plancheck, planref

    for module in (plancheck, planref, inputs):
        monkeypatch.setattr(module, "CHUNK_CELLS", 2)
    wave = PLAN.waves[2]
    failing = wave.cells[2]

    def on_deploy(detail: dict[str, Any]) -> em.Answer:
        if detail["action"] == "deploy" and detail["cell_id"] == failing:
            return ("failure", "PulumiUpFailed", "disk full")
        return ("success",)

    document = rollout_input(PLAN, VERSION, FAST)
    assert [len(item["batches"]) for item in planref.wave_items(document["waves"][2])] == [1, 1, 1, 1]
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        env = em.provision(PLAN)
        em.register_cells(env, FLEET)
        em.create_alarms(env, list(FLEET.ids))
        driver = em.Driver(env, on_deploy=on_deploy)
        driver.round_size = round_sizes(PLAN, document)
        result = driver.run(em.start(env, document), timeout=120)
        assert (result["status"], result["error"]) == ("FAILED", "DeployFailed"), result
        assert result["cause"] == f"cell {failing}: deploy of {VERSION} failed: PulumiUpFailed: disk full"
        deployed = [d["cell_id"] for d in driver.requests("deploy") if d["wave"] == wave.name]
        assert sorted(deployed) == sorted(wave.cells[:4])  # both cells of the failing chunk's batch, none later
        assert sorted(d["cell_id"] for d in driver.requests("rollback")) == sorted(deployed)
        registry = em.rollout_state(env)
        assert {registry[c]["status"] for c in deployed} == {"rolled_back"}
        assert {registry[c]["status"] for c in wave.cells[4:]} == {"deployed"}
        assert {registry[c]["deployed_version"] for c in wave.cells[4:]} == {OLD}
        [failed] = driver.notifications("wave_failed")
        assert (failed["wave"], failed["error"], failed["rollback_failed"]) == (wave.name, "DeployFailed", [])


WAVE_APPROVAL_POLICY = """\
waves:
  - name: canary
    select: {tier: canary}
    bake: {min: 1m, max: 1m}
    health_check_interval: 30s
    approval: true
  - name: rest
    select: {tier: smb}
    bake: {min: 1m, max: 1m}
    health_check_interval: 30s
  - name: enterprise
    select: {tier: enterprise}
    bake: {min: 1m, max: 1m}
    health_check_interval: 30s
"""


@pytest.mark.parametrize(("answer", "settings", "error", "cause"), [
    (("failure", "Rejected", "not today"), {}, "ApprovalRejected", "wave canary: approval rejected: not today"),
    (None, {"approval_timeout_seconds": 1}, "ApprovalTimedOut", "wave canary: approval timed out"),
])
def test_wave_approval_gate_stops_before_any_deploy(
    tmp_path: Any, answer: em.Answer, settings: dict[str, int], error: str, cause: str
) -> None:
    """A parallel wave with `approval: true` asks once for the whole wave, before touching a cell."""
    from tests.support.fleets import wave_plan

    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "rollout.yaml").write_text(WAVE_APPROVAL_POLICY, encoding="utf-8")
    shutil.copytree(REPO_ROOT / "cells", tmp_path / "cells")
    plan = wave_plan(tmp_path)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        env = em.provision(plan)
        em.register_cells(env, FLEET)
        driver = em.Driver(env, on_approval=lambda _message: answer)
        result = driver.run(em.start(env, rollout_input(plan, VERSION, {**FAST, **settings})), timeout=60)
        assert (result["status"], result["error"], result["cause"]) == ("FAILED", error, cause)
        [request] = [r.body for r in driver.log if r.channel == "approval"]
        # The wave's size is compiled into the rollout (the wave reads its cells by reference only).
        assert (request["kind"], request["wave"], request["cell_count"]) == ("wave", "canary", len(plan.waves[0].cells))
        assert not [r for r in driver.log if r.channel == "deploy"]
        assert {item["status"] for item in em.rollout_state(env).values()} == {"deployed"}
        assert {item["deployed_version"] for item in em.rollout_state(env).values()} == {OLD}


def _apply_table_item(env: em.Emulated, cell: str) -> None:
    """`pulumi up` of a cell, as far as the registry goes: its TableItem, applied the way the AWS
    provider applies one (PutItem of the whole item, replacing what the item held)."""
    from fleet.preview import preview_cell

    (item,) = preview_cell(FLEET.cell(cell)).of_type("aws:dynamodb/tableItem:TableItem")
    env.client("dynamodb").put_item(TableName=item.inputs["tableName"], Item=json.loads(item.inputs["item"]))


def _pulumi_up_cannot_erase_rollout_state(env: em.Emulated) -> None:
    """Two owners, two tables: after a rollout, the pipeline's record survives a `pulumi up` of every cell."""
    recorded = em.rollout_state(env)
    for cell in FLEET.ids:
        _apply_table_item(env, cell)
    assert em.rollout_state(env) == recorded
    assert {s["deployed_version"] for s in recorded.values()} == {VERSION}
    registry = em.table_items(env, env.targets.registry_table)
    assert set(registry) == set(FLEET.ids)
    for item in registry.values():  # the cell stack writes only its declared facts
        assert not {"status", "deployed_version", "previous_version", "rollout_id"} & set(item)


def test_the_pipeline_never_writes_the_registry() -> None:
    from pipelines.definitions import definitions
    from pipelines.iam import tasks
    from pipelines.targets import Targets

    targets = Targets()
    used = [(task["Resource"].rsplit(":", 1)[1], task["Parameters"]["TableName"])
            for d in definitions(PLAN, targets).values() for task in tasks(d)
            if task["Resource"].startswith("arn:aws:states:::dynamodb:")]
    assert {table for call, table in used if call != "getItem"} == {targets.rollout_table}
    assert {table for call, table in used if call == "getItem"} == {targets.rollout_table, targets.registry_table}
