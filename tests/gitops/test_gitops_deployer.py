"""The Argo CD deployer against a stand-in for Argo CD (see argocd_server.py: Argo CD cannot run
here), answering real task tokens of a Step Functions execution on moto's execution mode."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gitops.applications import cell_application
from gitops.deployer import deployer_environment, deployer_policy
from gitops.settings import GitOpsSettings
from model.cells import CELL_ID, SEMVER
from model.contract import DEPLOY_DETAIL_TYPE, EVENT_SOURCE, MACHINES, argocd_application
from pipelines.targets import Targets
from pipelines.waves import Plan
from runtime import argocd_deployer
from tests.gitops.argocd_server import FakeArgoCd, serve
from tests.support.emulator import EXECUTE

REGION = "us-east-1"
BUS = "cellfleet-deployments"
TOKEN = "argocd-api-token-for-tests"
ROLE = "arn:aws:iam::123456789012:role/cellfleet-pipeline"
CELL = "smb-us-1"
RELEASE = "2.5.0"


def _machine() -> dict[str, Any]:
    """One deploy request as the pipeline's Task sends it (DESIGN.md integration contract)."""
    return {"StartAt": "Deploy", "States": {"Deploy": {
        "Type": "Task", "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken", "End": True,
        "Parameters": {"Entries": [{
            "EventBusName": BUS, "Source": EVENT_SOURCE, "DetailType": DEPLOY_DETAIL_TYPE,
            "Detail": {"cell_id.$": "$.cell_id", "action": "deploy", "version.$": "$.version",
                       "previous_version": "2.4.0", "wave": "smb-wave-2", "rollout": "r1",
                       "task_token.$": "$$.Task.Token"},
        }]},
    }}}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    argocd_deployer._TOKEN.clear()
    with mock_aws(config=EXECUTE):
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        events.create_event_bus(Name=BUS)
        queue = sqs.create_queue(QueueName="deploy-requests")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="deploy", EventBusName=BUS,
                        EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [DEPLOY_DETAIL_TYPE]}))
        events.put_targets(Rule="deploy", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        machine = sfn.create_state_machine(name="deploy", definition=json.dumps(_machine()), roleArn=ROLE)
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="cellfleet/argocd-token", SecretString=TOKEN)["ARN"]
        yield {"sfn": sfn, "sqs": sqs, "queue": queue, "machine": machine["stateMachineArn"], "secret": secret}


def _fake(sample_plan: Plan, sample_cells: dict[str, Any], scenario: str) -> FakeArgoCd:
    fake = FakeArgoCd(token=TOKEN, namespace="argocd", applications={})
    fake.add(cell_application(sample_cells[CELL], sample_plan, GitOpsSettings()), scenario)
    return fake


def _run(aws: dict[str, Any], url: str, monkeypatch: pytest.MonkeyPatch, wait: int = 5) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the execution, hand its CellDeployRequested event to the handler, return (handler result, execution)."""
    env = deployer_environment(url, aws["secret"], wait)
    for key, value in {**env, "POLL_SECONDS": "0.05"}.items():
        monkeypatch.setenv(key, value)
    sfn, sqs = aws["sfn"], aws["sqs"]
    execution = sfn.start_execution(stateMachineArn=aws["machine"], input=json.dumps({"cell_id": CELL, "version": RELEASE}))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=1).get("Messages", [])
        if messages:
            break
        time.sleep(0.05)
    (message,) = messages
    result = argocd_deployer.handler(json.loads(message["Body"]))
    while time.monotonic() < deadline:
        description = sfn.describe_execution(executionArn=execution["executionArn"])
        if description["status"] != "RUNNING":
            return result, description
        time.sleep(0.05)
    raise AssertionError("the execution is still waiting for its task token")


@pytest.mark.parametrize("scenario", ["healthy", "auto"])
def test_synced_and_healthy_answers_success(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                            sample_plan: Plan, sample_cells: dict[str, Any], scenario: str) -> None:
    fake = _fake(sample_plan, sample_cells, scenario)
    with serve(fake) as url:
        result, execution = _run(aws, url, monkeypatch)
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["application"] == argocd_application(CELL)
    assert output["revision"] == f"release-{RELEASE}"
    assert result["answered"] is True
    app = fake.applications[argocd_application(CELL)]
    assert app["spec"]["source"]["targetRevision"] == f"release-{RELEASE}"
    assert (app["status"]["sync"]["status"], app["status"]["health"]["status"]) == ("Synced", "Healthy")
    methods = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in fake.requests]
    assert methods[:2] == [("PATCH", argocd_application(CELL)), ("POST", "sync")]
    assert {m for m, _ in methods[2:]} == {"GET"}


@pytest.mark.parametrize(("scenario", "error", "cause"), [
    ("degraded", "ArgoCDDegraded", "exceeded its progress deadline"),
    ("sync-fails", "ArgoCDSyncFailed", "unable to resolve 'release-2.5.0'"),
    ("stuck", "ArgoCDTimeout", "not Synced and Healthy at release-2.5.0 within 1 s"),
])
def test_degraded_failed_sync_and_timeout_fail_the_task(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sample_plan: Plan, sample_cells: dict[str, Any],
    scenario: str, error: str, cause: str,
) -> None:
    fake = _fake(sample_plan, sample_cells, scenario)
    started = time.monotonic()
    with serve(fake) as url:
        result, execution = _run(aws, url, monkeypatch, wait=1)
    assert execution["status"] == "FAILED"
    assert execution["error"] == error
    assert result["error"] == error
    assert cause in result["cause"]  # moto's execution keeps the error, not the cause
    if scenario == "stuck":
        assert 1 <= time.monotonic() - started < 10


def test_wrong_token_unknown_cell_and_bad_version_fail_cleanly(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sample_plan: Plan, sample_cells: dict[str, Any]
) -> None:
    fake = _fake(sample_plan, sample_cells, "healthy")
    fake.token = "another-token"
    with serve(fake) as url:
        result, execution = _run(aws, url, monkeypatch)
    assert "HTTP 401" in result["cause"]
    assert execution["error"] == "ArgoCDRequestFailed"
    assert fake.applications[argocd_application(CELL)]["spec"]["source"]["targetRevision"] == "release-2.4.0"
    settings = argocd_deployer.Settings(argocd_url="http://127.0.0.1:1", token_secret_arn="arn")
    with pytest.raises(argocd_deployer.DeployFailed, match="version is not a semantic version"):
        argocd_deployer.Request.parse({"cell_id": CELL, "action": "deploy", "version": "2.5.0;rm", "task_token": "t"})
    with pytest.raises(argocd_deployer.DeployFailed, match="cell_id is not a cell id"):
        argocd_deployer.Request.parse({"cell_id": "../x", "action": "deploy", "version": RELEASE, "task_token": "t"})
    assert settings.application_prefix == "cell-"
    assert argocd_deployer.handler({"detail": {"cell_id": CELL}})["answered"] is False


def test_plain_http_only_to_loopback() -> None:
    base = {"ARGOCD_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:t"}
    assert argocd_deployer.Settings.from_env({**base, "ARGOCD_URL": "https://argocd.example.com/"}).argocd_url == (
        "https://argocd.example.com")
    argocd_deployer.Settings.from_env({**base, "ARGOCD_URL": "http://127.0.0.1:8080"})
    with pytest.raises(ValueError, match="must be https"):
        argocd_deployer.Settings.from_env({**base, "ARGOCD_URL": "http://argocd.example.com"})


def test_runtime_patterns_are_the_models() -> None:
    assert argocd_deployer.CELL_ID.pattern == CELL_ID.pattern
    assert argocd_deployer.SEMVER.pattern == SEMVER.pattern


def test_policy_names_only_what_the_handler_touches() -> None:
    targets = Targets()
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cellfleet/argocd-token-abc"
    logs = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/cellfleet-argocd-deployer"
    policy = deployer_policy(targets, secret, logs)
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert all("*" not in a for a in actions)
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "*" not in resources
    assert {targets.machine_arn(k) for k in MACHINES} | {secret, logs, f"{logs}:*"} == set(resources)
    env = deployer_environment("https://argocd.example.com", secret, 3600)
    assert env["WAIT_SECONDS"] == "840"
    assert argocd_deployer.Settings.from_env(env).application_prefix == "cell-"
