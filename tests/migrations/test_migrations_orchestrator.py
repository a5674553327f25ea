"""The orchestrator state machine on moto's Step Functions execution mode, with a scripted deployer/approver.

The test plays the deployer, the migration workers and the approver (SQS queues behind the bus
and the approvals topic); everything else is the real definition run by moto.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from fleet.migration_runs import start
from fleet.stores import DynamoStore, table_definition
from migrations import cellref
from migrations.orchestrator import MAX_CONCURRENCY, definition, machine_name, plan_document, segments
from migrations.planner import MigrationPlan
from migrations.progress import render_text, status_view
from migrations.state import Status
from model.contract import EVENT_SOURCE, MIGRATION_EVENT_SOURCE
from model.errors import InputErrors
from pipelines.targets import Targets
from tests.migrations.synthetic import synthetic_migration
from tests.support import moto_parity
from tests.support.emulator import EXECUTE, speed_up
from tests.support.fleets import migration_plan

REPO = Path(__file__).resolve().parents[2]
MIGRATION = "2025-01-15-recipient-id-column"
REGION = "us-east-1"
DEFINITION_TARGET = 100 * 1024

pytestmark = pytest.mark.slow

# The work one request asks for: ("success", output) / ("failure", error) / None (not yet: asked again later).
Answer = tuple[str, dict[str, Any]] | tuple[str, str] | None


@pytest.fixture(scope="module")
def plan() -> MigrationPlan:
    return migration_plan(REPO, MIGRATION)


@dataclass
class Run:
    machine: str
    work_url: str
    approvals_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


_UPDATES = threading.Lock()


def atomic_updates() -> None:
    """moto's UpdateItem reads, changes and writes an item with no lock; AWS applies each one atomically.

    The cells of a batch run in threads in moto and `ADD` themselves to the same gate: without
    this, two first joins could both create the item and one cell be lost (the gate never opens).
    """
    from moto.dynamodb.models import DynamoDBBackend

    backend: Any = DynamoDBBackend
    if getattr(backend.update_item, "atomic", False):
        return
    original = backend.update_item

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _UPDATES:
            return original(self, *args, **kwargs)

    update_item.atomic = True  # type: ignore[attr-defined]
    backend.update_item = update_item


@pytest.fixture
def aws() -> Iterator[None]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with mock_aws(config=EXECUTE):
        moto_parity.apply()
        atomic_updates()
        speed_up()
        yield


def _provision(plan: MigrationPlan) -> Run:
    """Bus + rule -> worker queue, approvals topic -> approver queue, table, the orchestrator by its own name."""
    targets = Targets(region=REGION)
    events, sns, sqs = (boto3.client(s, region_name=REGION) for s in ("events", "sns", "sqs"))
    events.create_event_bus(Name=targets.event_bus)
    work_url, work_arn = _queue(sqs, "migration-worker")
    events.put_rule(Name="cell-work", EventBusName=targets.event_bus,
                    EventPattern=json.dumps({"source": [EVENT_SOURCE, MIGRATION_EVENT_SOURCE]}))
    events.put_targets(Rule="cell-work", EventBusName=targets.event_bus, Targets=[{"Id": "w", "Arn": work_arn}])
    topic = sns.create_topic(Name=targets.approvals_topic)["TopicArn"]
    approvals_url, approvals_arn = _queue(sqs, "approver")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=approvals_arn, Attributes={"RawMessageDelivery": "true"})
    boto3.client("dynamodb", region_name=REGION).create_table(**table_definition())
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=targets.plan_bucket)
    s3.put_bucket_versioning(Bucket=targets.plan_bucket, VersioningConfiguration={"Status": "Enabled"})
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=machine_name(targets, plan.id), definition=json.dumps(definition(plan, targets)),
        roleArn="arn:aws:iam::123456789012:role/cellfleet-migrations",
    )["stateMachineArn"]
    return Run(machine, work_url, approvals_url)


def _drive(run: Run, plan: MigrationPlan, on_work: Callable[[dict[str, Any], Run], Answer],
           timeout: float = 300, until: Callable[[Run], bool] | None = None) -> dict[str, Any]:
    """Answer every request (approvals: yes) until the execution ends (or `until` holds: then stop it).

    Deferred work is asked again each round; every answer is logged in `run.seen` as `answered`.
    """
    sfn, sqs = boto3.client("stepfunctions", region_name=REGION), boto3.client("sqs", region_name=REGION)
    arn = start(boto3.client("s3", region_name=REGION), sfn, Targets(region=REGION).plan_bucket,
                plan_document(plan, time_scale=0), run.machine, "m1")
    deferred: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for url, kind in ((run.approvals_url, "approval"), (run.work_url, "work")):
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                body = json.loads(message["Body"])
                detail = body["detail"] if kind == "work" else body
                run.seen.append({**detail, "kind": kind})
                if kind == "approval":
                    sfn.send_task_success(taskToken=detail["task_token"], output="{}")
                else:
                    deferred.append(detail)
        waiting = []
        for detail in deferred:
            answer = on_work(detail, run)
            if answer is None:
                waiting.append(detail)
                continue
            if answer[0] == "success":
                sfn.send_task_success(taskToken=detail["task_token"], output=json.dumps(answer[1]))
            else:
                sfn.send_task_failure(taskToken=detail["task_token"], error=str(answer[1]), cause="test")
            run.seen.append({**detail, "kind": "answered"})
        deferred = waiting
        if until is not None and until(run):
            sfn.stop_execution(executionArn=arn)  # the run first, then what is left of its children
            stopping = time.monotonic() + 30
            while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < stopping:
                time.sleep(0.1)
            stopped = dict(sfn.describe_execution(executionArn=arn))
            for execution in sfn.list_executions(stateMachineArn=run.machine, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"])
            return stopped
        description = sfn.describe_execution(executionArn=arn)
        if description["status"] != "RUNNING":
            return dict(description)
        time.sleep(0.1)
    raise TimeoutError("execution still running")


def _answer(fail_cell: str | None = None) -> Callable[[dict[str, Any], Run], Answer]:
    def answer(detail: dict[str, Any], _run: Run) -> Answer:
        if detail["phase"] == "backfill":
            if detail["cell_id"] == fail_cell:
                return "failure", "BackfillFailed"
            return "success", {"rows_done": 1500, "rows_total": 1500}
        return "success", {}
    return answer


def _requested(run: Run, phase: str, cell: str, kind: str = "work") -> bool:
    return any(s["kind"] == kind and s["phase"] == phase and s.get("cell_id") == cell for s in run.seen)


def _fence(smb: str, canary: str, *, hold: bool = False) -> Callable[[dict[str, Any], Run], Answer]:
    """Make the race certain: the canary's read-only code deploys once `smb` is backfilling, and `smb`'s
    backfill is answered only once the canary's contract was requested (with `hold`: never)."""
    def answer(detail: dict[str, Any], run: Run) -> Answer:
        phase, cell = detail["phase"], detail["cell_id"]
        if phase == "migrate-code-readonly" and cell == canary and not _requested(run, "backfill", smb):
            return None
        if phase == "backfill" and cell == smb and (hold or not _requested(run, "contract", canary)):
            return None
        return _answer()(detail, run)
    return answer


def _index(run: Run, kind: str, phase: str, cell: str) -> int:
    return next(i for i, s in enumerate(run.seen) if (s["kind"], s["phase"], s.get("cell_id")) == (kind, phase, cell))


def _work(run: Run, phase: str | None = None) -> list[dict[str, Any]]:
    return [s for s in run.seen if s["kind"] == "work" and (phase is None or s["phase"] == phase)]


def test_happy_path_runs_every_cell_in_order_and_records_state(plan: MigrationPlan, aws: None) -> None:
    run = _provision(plan)
    description = _drive(run, plan, _fence("smb-us-2", "canary-us-internal"))
    assert description["status"] == "SUCCEEDED", description
    # every cell once per phase; each cell's phases in manifest order
    for phase in plan.phases:
        assert sorted(s["cell_id"] for s in _work(run, phase.name.value)) == sorted(plan.cells)
    for cell in plan.cells:
        mine = [s["phase"] for s in _work(run) if s["cell_id"] == cell]
        assert mine == [p.name.value for p in plan.phases]
    # within a phase: canary first, enterprise last; deploys use the deployer's event
    expand = [s["cell_id"] for s in _work(run, "expand")]
    assert expand[0] == "canary-us-internal"
    assert set(expand[-3:]) == set(plan.phase("expand").steps[-1].cells)
    deploys = _work(run, "migrate-code")
    assert {d["action"] for d in deploys} == {"deploy"}
    assert {d["version"] for d in deploys} == {"v2.5.0"}
    # per-cell fencing: the canary's contract started while smb-us-2 was still backfilling
    contract = _index(run, "work", "contract", "canary-us-internal")
    assert _index(run, "work", "backfill", "smb-us-2") < contract < _index(run, "answered", "backfill", "smb-us-2")
    # approvals: one per approval step, one per cell of a one-at-a-time wave with approval
    expected = sum(s.approval * (len(s.cells) if s.each else 1) for p in plan.phases for s in segments(p))
    assert len([s for s in run.seen if s["kind"] == "approval"]) == expected
    assert expected >= 4
    # the manifest's gates hold: enterprise contract after its step's approval, each enterprise deploy
    # after that cell's approval (one at a time)
    approved = next(i for i, s in enumerate(run.seen) if s["kind"] == "approval" and s["phase"] == "contract"
                    and s["step"] == plan.phase("contract").steps[-1].label)
    for cell in plan.phase("contract").steps[-1].cells:
        assert approved < _index(run, "work", "contract", cell)
        assert _index(run, "approval", "migrate-code", cell) < _index(run, "work", "migrate-code", cell)
    state = DynamoStore(region=REGION).load(plan.id)
    assert all(state.get(c, p.name.value).status is Status.COMPLETE for p in plan.phases for c in plan.cells)
    assert state.get("smb-us-1", "backfill").rows_done == 1500
    assert ("contract", "enterprise-us-hipaa") in state.approvals
    assert ("migrate-code", "enterprise-us-hipaa") in state.approvals
    view = status_view(plan, state)
    assert view["status"] == "complete"
    assert view["progress"]["percent"] == 100
    # the run's history holds the phases' and steps' Map runs only: no cell's work, whatever the fleet
    sfn = boto3.client("stepfunctions", region_name=REGION)
    [execution] = sfn.list_executions(stateMachineArn=run.machine, maxResults=1000)["executions"]
    events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=25_000)["events"]
    kinds = {e["type"] for e in events}
    assert {"MapRunStarted", "MapRunSucceeded"} <= kinds
    assert not kinds & {"TaskScheduled", "TaskSubmitted"}  # every request runs in a child
    assert len(events) <= 40
    labels = " ".join(s.label for p in plan.phases for s in segments(p))  # the manifest's rules may name cells
    assert not [c for c in plan.cells if c in json.dumps(events, default=str) and c not in labels]


def test_backfill_failure_stops_that_cell_and_shows_in_status(plan: MigrationPlan, aws: None) -> None:
    from typer.testing import CliRunner

    from fleet.cli import app

    run = _provision(plan)
    description = _drive(run, plan, _answer(fail_cell="smb-us-2"))
    assert description["status"] == "FAILED"
    backfill = plan.phase("backfill")
    failing_step = backfill.step_of("smb-us-2")
    state = DynamoStore(region=REGION).load(plan.id)
    assert state.get("smb-us-2", "backfill").status is Status.FAILED
    # the other cells of that step finished; no later step started, and no cell of the step moved on
    for cell in failing_step.cells:
        if cell != "smb-us-2":
            assert state.get(cell, "backfill").status is Status.COMPLETE
    later = [c for s in backfill.steps[failing_step.index + 1:] for c in s.cells]
    assert later
    assert all(state.get(c, "backfill").status is Status.PENDING for c in later)
    stuck = [*failing_step.cells, *later]
    assert not [s for s in _work(run, "migrate-code-readonly") if s["cell_id"] in stuck]
    assert all(state.get(c, "contract").status is Status.PENDING for c in stuck)
    text = render_text(status_view(plan, state))
    assert "Failed: backfill on smb-us-2: BackfillFailed" in text
    result = CliRunner().invoke(app, ["migrate", "status", MIGRATION, "--store", "dynamodb", "--region", REGION,
                                      "--format", "json", "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["status"] == "failed"
    assert view["failed"][0]["cell"] == "smb-us-2"


def test_cells_travel_by_reference_not_in_the_definition_or_the_input(plan: MigrationPlan) -> None:
    """No cell is named in the definition or the input: one S3 object per step holds its batches."""
    text = json.dumps(definition(plan))
    assert not [c for c in plan.cells if f'"{c}"' in text]
    document = plan_document(plan)
    objects = cellref.step_objects(document)
    given = cellref.execution_input(document, objects, [f"v{i}" for i in range(len(objects))])
    assert not [c for c in plan.cells if f'"{c}"' in json.dumps(given)]
    assert [len(steps) for steps in given["plan"]["steps"]] == [len(segments(p)) for p in plan.phases]
    assert all(o.key.startswith(cellref.prefix(plan.id)) for o in objects)
    backfill = plan.index("backfill")
    [obj] = [o for o in objects if (o.phase, o.step) == (backfill, 1)]
    batches = json.loads(obj.body)
    assert [i["c"] for b in batches for i in b["cells"]] == list(plan.phase("backfill").steps[1].cells)
    assert given["plan"]["steps"][backfill][1] == {"key": obj.key, "version_id": f"v{objects.index(obj)}",
                                                   "wait": 0, "batches": len(batches)}
    # each cell names its gate in the next phase: where it sits in migrate-code-readonly
    readonly = document["plan"][backfill + 1]
    gates = {i["c"]: i["g"] for b in batches for i in b["cells"]}
    for cell, gate in gates.items():
        k, b = map(int, gate.split("."))
        assert cell in [i["c"] for i in readonly[k]["batches"][b]["cells"]]


def test_three_hundred_cells_fit_and_run_with_per_cell_fencing(tmp_path: Path, aws: None) -> None:
    """300 synthetic cells: the definition is the 10-cell one (< 100 KB); run until the canary has
    contracted while an SMB cell of the last SMB wave is still backfilling, then stopped (the full run
    of 1,500 cell phases takes moto minutes; the sample fleet's tests run to the end)."""
    plan = synthetic_migration(tmp_path, 300)
    assert len(plan.cells) == 300
    size = len(json.dumps(definition(plan), sort_keys=True, indent=2))
    assert size < DEFINITION_TARGET
    assert size == len(json.dumps(definition(synthetic_migration(tmp_path / "small", 10)), sort_keys=True, indent=2))
    run = _provision(plan)
    canary = plan.phase("contract").steps[0].cells[0]
    smb = plan.phase("backfill").steps[1].cells[0]
    description = _drive(run, plan, _fence(smb, canary, hold=True), timeout=400,
                         until=lambda r: _requested(r, "contract", canary, "answered") and DynamoStore(
                             region=REGION).load(plan.id).get(canary, "contract").status is Status.COMPLETE)
    assert description["status"] != "SUCCEEDED"  # stopped here (moto may report ABORTED or FAILED)
    state = DynamoStore(region=REGION).load(plan.id)
    assert state.get(canary, "contract").status is Status.COMPLETE
    assert state.get(smb, "backfill").status is Status.RUNNING
    assert state.get(smb, "contract").status is Status.PENDING
    assert {c for c in plan.cells if state.get(c, "expand").status is Status.COMPLETE} > {canary, smb}
    assert max(s.concurrency for p in plan.phases for s in segments(p)) <= MAX_CONCURRENCY


def test_start_command_writes_the_steps_and_starts_with_a_small_input(plan: MigrationPlan, aws: None) -> None:
    """`fleet migrate start`: one encrypted object per step in the plan bucket, the input names their versions."""
    from typer.testing import CliRunner

    from fleet.cli import app

    run = _provision(plan)
    result = CliRunner().invoke(app, ["migrate", "start", MIGRATION, "--region", REGION, "--state-machine-arn",
                                      run.machine, "--name", "cli", "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    sfn, s3 = boto3.client("stepfunctions", region_name=REGION), boto3.client("s3", region_name=REGION)
    arn = result.stdout.strip()
    given = json.loads(sfn.describe_execution(executionArn=arn)["input"])
    document = plan_document(plan)
    assert given == cellref.execution_input(document, cellref.step_objects(document),
                                            [s["version_id"] for p in given["plan"]["steps"] for s in p])
    for obj in cellref.step_objects(document):
        version = given["plan"]["steps"][obj.phase][obj.step]["version_id"]
        stored = s3.get_object(Bucket=Targets(region=REGION).plan_bucket, Key=obj.key, VersionId=version)
        assert stored["Body"].read() == obj.body
        assert stored["ServerSideEncryption"] == "aws:kms"


def test_start_command_refuses_a_plan_over_a_quota_before_any_aws_call(tmp_path: Path) -> None:
    """A bake that keeps one execution past a year is refused before any AWS call (no moto here), naming the step."""
    from typer.testing import CliRunner

    from fleet.cli import app

    for folder in ("cells", "migrations", "pipelines"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, tmp_path / folder)
    manifest = tmp_path / "migrations" / MIGRATION / "manifest.yaml"
    # 8,700 h (the manifest allows a year per wait) after the rest of the migration: past a year in all
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("wait: 168h", "wait: 8700h"), encoding="utf-8")
    result = CliRunner().invoke(app, ["migrate", "start", MIGRATION, "--region", REGION, "--root", str(tmp_path)])
    assert isinstance(result.exception, InputErrors)  # `fleet` prints each as one line, exit 1 (fleet.cli.main)
    [line] = [str(e) for e in result.exception.errors]
    head = f"migrations/{MIGRATION}/manifest.yaml:1: migration: execution duration (days): "
    assert line.startswith(head), line
    days = float(line.removeprefix(head).split(" ")[0].replace(",", ""))
    assert 365 < days < 380
    assert "over the Step Functions quota of 365 at 14 cells" in line
    assert "(driven by contract / enterprise-*: 3 cell(s) in batches, then the step's bake: 362.5 days)" in line


def test_definition_passes_asl_validator(plan: MigrationPlan, tmp_path: Path) -> None:
    """AWS's own schema (asl-validator, npm) accepts the Distributed Maps, their ItemReaders and the loops."""
    import subprocess

    validator = REPO / "node_modules" / ".bin" / "asl-validator"
    if not validator.exists():
        pytest.fail("asl-validator is not installed: run `npm ci` (scripts/setup does)")
    path = tmp_path / "orchestrator.json"
    path.write_text(json.dumps(definition(plan)), encoding="utf-8")
    result = subprocess.run([str(validator), "--json-path", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
