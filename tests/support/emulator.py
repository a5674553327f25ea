"""The control plane inside moto's Step Functions execution mode, for tests and benchmarks.

`provision()` creates what the control-plane stack creates (bus, topics, registry and rollout-state tables,
the three state machines from the same definitions) plus SQS queues that stand in for
the deployer, the approvers and the notification readers. `Driver` then plays those roles
against a running execution: it answers `CellDeployRequested` events and approval
requests with SendTaskSuccess / SendTaskFailure, as a real deployer and approver would.

Call everything here inside an active `moto.mock_aws(config=EXECUTE)` context.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.core.config import DefaultConfig

from model.cells import Fleet
from model.contract import (
    CELL_KEY,
    DEPLOY_DETAIL_TYPE,
    EVENT_SOURCE,
    MACHINES,
    RolloutStatus,
    error_rate_alarm,
    latency_alarm,
)
from model.registry import cell_facts, to_item
from pipelines.definitions import definitions
from pipelines.targets import Targets
from pipelines.waves import Plan
from tests.support import moto_health, moto_parity

EXECUTE: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}
ROLE_ARN = "arn:aws:iam::123456789012:role/cellfleet-pipeline"

# An answer from the deployer/approver: ("success", output) / ("failure", error, cause) / None (stay silent).
Answer = tuple[str, ...] | None


def speed_up_sync_polling(seconds: float = 0.05) -> None:
    """moto polls `.sync` children every 0.5 s; tests with many nested children poll faster."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )

    module: Any = callback
    module._DELAY_SECONDS_SYNC_CONDITION_CHECK = seconds


@dataclass
class Emulated:
    targets: Targets
    region: str
    deploy_queue: str
    approvals_queue: str
    notifications_queue: str
    machines: dict[str, str]
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]


def _queue_for(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def provision(plan: Plan, targets: Targets | None = None) -> Emulated:
    """Create the control plane in moto (from the real definitions) and the role-playing queues."""
    moto_parity.apply()
    moto_health.apply()
    targets = targets or Targets()
    region = targets.region
    events = boto3.client("events", region_name=region)
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    ddb = boto3.client("dynamodb", region_name=region)
    sfn = boto3.client("stepfunctions", region_name=region)

    events.create_event_bus(Name=targets.event_bus)
    deploy_url, deploy_arn = _queue_for(sqs, "deployer")
    events.put_rule(
        Name="cell-deploy-requested", EventBusName=targets.event_bus,
        EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [DEPLOY_DETAIL_TYPE]}),
    )
    events.put_targets(Rule="cell-deploy-requested", EventBusName=targets.event_bus,
                       Targets=[{"Id": "deployer", "Arn": deploy_arn}])
    queues = {}
    for topic in (targets.approvals_topic, targets.notifications_topic):
        topic_arn = sns.create_topic(Name=topic)["TopicArn"]
        url, arn = _queue_for(sqs, f"{topic}-reader")
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                      Attributes={"RawMessageDelivery": "true"})
        queues[topic] = url
    for table in (targets.registry_table, targets.rollout_table):
        ddb.create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": CELL_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": CELL_KEY, "KeyType": "HASH"}],
        )
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=targets.plan_bucket)
    s3.put_bucket_versioning(Bucket=targets.plan_bucket, VersioningConfiguration={"Status": "Enabled"})
    machines = {}
    for kind, definition in definitions(plan, targets).items():
        machines[kind] = sfn.create_state_machine(
            name=targets.machine_name(kind), definition=json.dumps(definition), roleArn=ROLE_ARN,
        )["stateMachineArn"]
    assert set(machines) == set(MACHINES)
    return Emulated(targets, region, deploy_url, queues[targets.approvals_topic],
                    queues[targets.notifications_topic], machines)


def register_cells(env: Emulated, fleet: Fleet, cell_ids: list[str] | None = None) -> None:
    """Registry items as the cell stacks write them, and the rollout state a previous rollout left."""
    ddb = env.client("dynamodb")
    wanted = set(cell_ids) if cell_ids is not None else None
    for cell in fleet.cells:
        if wanted is not None and cell.id not in wanted:
            continue
        releases = sorted({s.release for s in cell.services.values()})
        ddb.put_item(TableName=env.targets.registry_table, Item=to_item(cell_facts(cell)))
        state = {CELL_KEY: cell.id, "deployed_version": releases[-1], "status": RolloutStatus.DEPLOYED.value}
        ddb.put_item(TableName=env.targets.rollout_table, Item=to_item(state))


def create_alarms(env: Emulated, cell_ids: list[str]) -> None:
    """The metric alarms a cell module creates, by the naming convention, all OK to begin with.

    moto has no PutCompositeAlarm, so the composite `cell-<id>-health` alarm is not created here;
    the check reads composite alarms the same way (DescribeAlarms with AlarmTypes).
    """
    cw = env.client("cloudwatch")
    for cid in cell_ids:
        for name in (error_rate_alarm(cid), latency_alarm(cid)):
            cw.put_metric_alarm(
                AlarmName=name, Namespace="cellfleet", MetricName=name, Statistic="Average", Period=60,
                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
            )
            cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="created")


def table_items(env: Emulated, table: str) -> dict[str, dict[str, Any]]:
    """A per-cell table as plain dicts: cell_id -> {attribute: value} (strings only)."""
    ddb = env.client("dynamodb")
    out: dict[str, dict[str, Any]] = {}
    for item in ddb.scan(TableName=table)["Items"]:
        out[item[CELL_KEY]["S"]] = {k: v["S"] for k, v in item.items() if "S" in v}
    return out


def rollout_state(env: Emulated) -> dict[str, dict[str, Any]]:
    """What the pipeline recorded per cell (status, deployed and previous version, rollout id)."""
    return table_items(env, env.targets.rollout_table)


@dataclass
class Record:
    """One message the driver saw, in arrival order."""

    channel: str  # deploy | approval | notification (read from queues) | answered (a deploy answer sent)
    body: dict[str, Any]
    at: float  # when the driver read it
    sent: int = 0  # when it was sent to the queue (ms since the epoch): publish order across queues


@dataclass
class Driver:
    """Plays deployer, approver and notification reader until the execution ends."""

    env: Emulated
    on_deploy: Callable[[dict[str, Any]], Answer] = lambda _detail: ("success",)
    on_approval: Callable[[dict[str, Any]], Answer] = lambda _message: ("success",)
    settle: float = 0.25
    # How many deploy requests one concurrent round has (by a request of it); when given, a
    # round is answered as soon as it is complete, so a fault never races its siblings.
    round_size: Callable[[dict[str, Any]], int] | None = None
    round_timeout: float = 10.0
    log: list[Record] = field(default_factory=list)

    def _receive(self, url: str, channel: str) -> list[dict[str, Any]]:
        sqs = self.env.client("sqs")
        out = []
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["SentTimestamp"])
        for message in response.get("Messages", []):
            body = json.loads(message["Body"])
            if channel == "deploy":
                body = body["detail"]
            sent = int(message.get("Attributes", {}).get("SentTimestamp", 0))
            self.log.append(Record(channel, body, time.monotonic(), sent))
            out.append(body)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out

    def _answer(self, token: str, answer: Answer) -> None:
        if answer is None:
            return
        sfn = self.env.client("stepfunctions")
        try:
            if answer[0] == "success":
                sfn.send_task_success(taskToken=token, output=json.dumps({"ok": True}))
            else:
                sfn.send_task_failure(taskToken=token, error=answer[1], cause=answer[2])
        except sfn.exceptions.ClientError:
            pass  # the task was cancelled or timed out meanwhile: a real deployer sees the same

    def run(self, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
        """Drive until the execution is no longer RUNNING; return its description."""
        sfn = self.env.client("stepfunctions")
        deadline = time.monotonic() + timeout
        pending: list[dict[str, Any]] = []
        last_request = time.monotonic()
        while time.monotonic() < deadline:
            self._receive(self.env.notifications_queue, "notification")
            for message in self._receive(self.env.approvals_queue, "approval"):
                self._answer(message["task_token"], self.on_approval(message))
            for detail in self._receive(self.env.deploy_queue, "deploy"):
                pending.append(detail)
                last_request = time.monotonic()
            if pending and self._round_ready(pending, time.monotonic() - last_request):
                for detail in pending:
                    self._answer(detail["task_token"], self.on_deploy(detail))
                    self.log.append(Record("answered", detail, time.monotonic()))
                pending.clear()
            description = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                self._receive(self.env.notifications_queue, "notification")
                return dict(description)
            time.sleep(0.05)
        raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")

    def _round_ready(self, pending: list[dict[str, Any]], quiet: float) -> bool:
        """Answer a round of concurrent requests together: when complete, or once quiet for `settle` s."""
        deploys = [d for d in pending if d["action"] == "deploy"]
        if self.round_size is None or not deploys:
            return quiet >= self.settle
        return len(deploys) >= self.round_size(deploys[0]) or quiet >= self.round_timeout

    def requests(self, action: str) -> list[dict[str, Any]]:
        return [r.body for r in self.log if r.channel == "deploy" and r.body["action"] == action]

    def notifications(self, event: str) -> list[dict[str, Any]]:
        return [r.body for r in self.log if r.channel == "notification" and r.body.get("event") == event]


def start(env: Emulated, document: dict[str, Any], name: str = "r1") -> str:
    """Start the rollout machine the way `fleet rollout start` does: the plan document stored, its reference in the input."""
    from fleet.rollouts import store_plan

    if "waves" in document:
        document = store_plan(env.client("s3"), env.targets.plan_bucket, document)
    sfn = env.client("stepfunctions")
    return str(sfn.start_execution(stateMachineArn=env.machines["rollout"], name=name,
                                   input=json.dumps(document))["executionArn"])


def executions(env: Emulated) -> list[dict[str, Any]]:
    """Every execution of every machine (to measure histories)."""
    sfn = env.client("stepfunctions")
    out = []
    for arn in env.machines.values():
        out.extend(sfn.list_executions(stateMachineArn=arn)["executions"])
    return out


def history_length(env: Emulated, execution_arn: str) -> int:
    sfn = env.client("stepfunctions")
    return len(sfn.get_execution_history(executionArn=execution_arn)["events"])


def reuse_integration_clients() -> None:
    """moto builds a new boto3 client for every Task state; reuse one per (service, region).

    Only speeds the emulator up (client creation dominates a moto Task state's cost);
    the calls made are the same.
    """
    from importlib import import_module

    base = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
    cache: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for as original

    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        with lock:
            key = (service, region)
            if key not in cache:
                cache[key] = original(region=region, service=service, state_credentials=state_credentials)
            return cache[key]

    for name in ("sns", "events", "sfn", "dynamodb", "aws_sdk"):
        module: Any = import_module(base + f"state_task_service_{name}")
        module.boto_client_for = cached


def cache_definition_parsing() -> None:
    """moto parses a definition with ANTLR (pure Python, ~0.5 s for the batch machine) on every
    execution start; parse each definition once and give every execution its own deep copy."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend import execution_worker

    cache: dict[str, Any] = {}
    lock = threading.Lock()
    parse = AmazonStateLanguageParser.parse

    def entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with lock:
            if definition not in cache:
                cache[definition] = parse(definition)[0]
            return copy.deepcopy(cache[definition])

    worker: Any = execution_worker.ExecutionWorker
    worker._get_evaluation_entrypoint = entrypoint

    # CreateStateMachine parses too (to validate); a definition that parsed once is valid.
    from moto.stepfunctions.parser import models

    backend: Any = models.StepFunctionsParserBackend
    validate = backend._validate_definition
    valid: set[str] = set()

    def validate_once(definition: str) -> None:
        if definition not in valid:
            validate(definition)
            valid.add(definition)

    backend._validate_definition = staticmethod(validate_once)


def speed_up() -> None:
    """Every emulator speed-up at once (none changes what the machines do)."""
    speed_up_sync_polling()
    reuse_integration_clients()
    cache_definition_parsing()


@contextmanager
def emulated_fleet(plan: Plan, fleet: Fleet, *, alarms: bool = True) -> Iterator[Emulated]:
    """moto in execution mode with the control plane provisioned, every cell registered (and alarmed)."""
    from moto import mock_aws

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with mock_aws(config=EXECUTE):
        speed_up()
        emulated = provision(plan)
        register_cells(emulated, fleet)
        if alarms:
            create_alarms(emulated, list(plan.cell_order))
        yield emulated
