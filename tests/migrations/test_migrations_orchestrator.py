"""The orchestrator state machine on moto's Step Functions execution mode, with a fake deployer/approver."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import DefaultConfig

from fleet.stores import DynamoStore, table_definition
from migrations.orchestrator import definition, execution_input
from migrations.planner import MigrationPlan
from migrations.progress import render_text, status_view
from migrations.state import Status
from model.contract import EVENT_SOURCE, MIGRATION_EVENT_SOURCE
from pipelines.targets import Targets
from tests.support import moto_parity
from tests.support.fleets import migration_plan

REPO = Path(__file__).resolve().parents[2]
MIGRATION = "2025-01-15-recipient-id-column"
EXECUTE: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}
REGION = "us-east-1"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plan() -> MigrationPlan:
    return migration_plan(REPO, MIGRATION)


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _provision(plan: MigrationPlan) -> tuple[str, str, str]:
    """Bus + rule -> worker queue, approvals topic -> approver queue, table, state machine."""
    moto_parity.apply()
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
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="cellfleet-migration", definition=json.dumps(definition(plan, targets)),
        roleArn="arn:aws:iam::123456789012:role/cellfleet-migrations",
    )["stateMachineArn"]
    return machine, work_url, approvals_url


def _drive(machine: str, work_url: str, approvals_url: str, plan: MigrationPlan,
           on_work: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sfn, sqs = boto3.client("stepfunctions", region_name=REGION), boto3.client("sqs", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine, name="m1",
                              input=json.dumps(execution_input(plan, time_scale=0)))["executionArn"]
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for url, kind in ((approvals_url, "approval"), (work_url, "work")):
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                body = json.loads(message["Body"])
                detail = body["detail"] if kind == "work" else body
                seen.append({**detail, "kind": kind})
                outcome, output = on_work(detail) if kind == "work" else ("success", {})
                if outcome == "success":
                    sfn.send_task_success(taskToken=detail["task_token"], output=json.dumps(output))
                else:
                    sfn.send_task_failure(taskToken=detail["task_token"], error=outcome, cause="test")
        description = sfn.describe_execution(executionArn=arn)
        if description["status"] != "RUNNING":
            return dict(description), seen
        time.sleep(0.02)
    raise TimeoutError("execution still running")


def _answer(fail_cell: str | None = None) -> Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]:
    def answer(detail: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if detail["phase"] == "backfill":
            if detail["cell_id"] == fail_cell:
                return "BackfillFailed", {}
            return "success", {"rows_done": 1500, "rows_total": 1500}
        return "success", {}
    return answer


def test_happy_path_runs_every_cell_in_order_and_records_state(plan: MigrationPlan) -> None:
    with mock_aws(config=EXECUTE):
        machine, work, approvals = _provision(plan)
        description, seen = _drive(machine, work, approvals, plan, _answer())
        assert description["status"] == "SUCCEEDED"
        requests = [s for s in seen if s["kind"] == "work"]
        # every cell once per phase, phases in manifest order
        for phase in plan.phases:
            cells = [s["cell_id"] for s in requests if s["phase"] == phase.name.value]
            assert sorted(cells) == sorted(plan.cells)
        order = [s["phase"] for s in requests]
        assert order == sorted(order, key=plan.index)
        # canary first in each phase, enterprise last; deploys use the deployer's event
        expand = [s["cell_id"] for s in requests if s["phase"] == "expand"]
        assert expand[0] == "canary-us-internal"
        assert set(expand[-3:]) == set(plan.phase("expand").steps[-1].cells)
        deploys = [s for s in requests if s["phase"] == "migrate-code"]
        assert {d["action"] for d in deploys} == {"deploy"}
        assert {d["version"] for d in deploys} == {"v2.5.0"}
        # one approval request per approval step
        assert len([s for s in seen if s["kind"] == "approval"]) == sum(
            s.approval for p in plan.phases for s in p.steps)
        state = DynamoStore(region=REGION).load(plan.id)
        assert all(state.get(c, p.name.value).status is Status.COMPLETE for p in plan.phases for c in plan.cells)
        assert state.get("smb-us-1", "backfill").rows_done == 1500
        assert ("contract", "enterprise-us-hipaa") in state.approvals
        view = status_view(plan, state)
        assert view["status"] == "complete"
        assert view["progress"]["percent"] == 100


def test_backfill_failure_stops_that_cell_and_shows_in_status(plan: MigrationPlan) -> None:
    from typer.testing import CliRunner

    from fleet.cli import app

    with mock_aws(config=EXECUTE):
        machine, work, approvals = _provision(plan)
        description, seen = _drive(machine, work, approvals, plan, _answer(fail_cell="smb-us-2"))
        assert description["status"] == "FAILED"
        backfill = plan.phase("backfill")
        failing_step = backfill.step_of("smb-us-2")
        state = DynamoStore(region=REGION).load(plan.id)
        assert state.get("smb-us-2", "backfill").status is Status.FAILED
        # the other cells of that step finished; no later step or phase started
        for cell in failing_step.cells:
            if cell != "smb-us-2":
                assert state.get(cell, "backfill").status is Status.COMPLETE
        later = [c for s in backfill.steps[failing_step.index + 1:] for c in s.cells]
        assert later
        assert all(state.get(c, "backfill").status is Status.PENDING for c in later)
        assert all(state.get(c, "migrate-code-readonly").status is Status.PENDING for c in plan.cells)
        assert not [s for s in seen if s["kind"] == "work" and s["phase"] == "migrate-code-readonly"]
        text = render_text(status_view(plan, state))
        assert "Failed: backfill on smb-us-2: BackfillFailed" in text
        result = CliRunner().invoke(app, ["migrate", "status", MIGRATION, "--store", "dynamodb", "--region", REGION,
                                          "--format", "json", "--root", str(REPO)])
        assert result.exit_code == 0, result.output
        view = json.loads(result.stdout)
        assert view["status"] == "failed"
        assert view["failed"][0]["cell"] == "smb-us-2"


def test_cells_travel_in_the_execution_input_not_the_definition() -> None:
    """Steps of many cells name none of them in the definition: the Map reads them from the input."""
    plan = migration_plan(REPO, MIGRATION)
    text = json.dumps(definition(plan))
    smb = [c for c in plan.cells if c.startswith("smb-")]
    assert smb
    assert not [c for c in smb if f'"{c}"' in text]
    steps = execution_input(plan)["steps"]
    assert [i["cell_id"] for i in steps["backfill_2"]["items"]] == list(plan.phase("backfill").steps[1].cells)
