"""The CodeBuild deployer's hand-off Lambda, called as EventBridge calls it, on moto (SSM, KMS, CodeBuild, Step Functions).

A real task token of an execution on moto's execution mode reaches the handler through the
bus (a queue stands in for the Lambda target: moto runs no Lambda here). The StartBuild
request is read as it leaves boto3 for CodeBuild (moto's CodeBuild does not keep overrides),
so the test sees exactly what CodeBuild would show in the build's details. CodeBuild's own
resolution of the PARAMETER_STORE override is played by reading the parameter with
decryption, as the build's role does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from model.cells import CELL_ID, SEMVER
from model.contract import DECLARED_RELEASES, DEPLOY_DETAIL_TYPE, EVENT_SOURCE, NO_RELEASE
from pipelines import deployer
from pipelines.targets import Targets
from runtime import codebuild_handoff
from tests.support.emulator import EXECUTE, speed_up

REGION = "us-east-1"
TARGETS = Targets(region=REGION)  # moto's account, the contract's names
ROLE = "arn:aws:iam::123456789012:role/cellfleet-deployer"
REQUEST = {"cell_id": "smb-us-1", "action": "deploy", "version": "2.5.0", "previous_version": "2.4.0",
           "wave": "smb-wave-2", "rollout": "v2-5-0-20261202T010000Z"}


def _machine() -> dict[str, Any]:
    """One deploy request as the pipeline's Task sends it (every field from the execution input)."""
    detail = {f"{field}.$": f"$.{field}" for field in REQUEST}
    return {"StartAt": "Deploy", "States": {"Deploy": {
        "Type": "Task", "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken", "End": True,
        "Parameters": {"Entries": [{"EventBusName": TARGETS.event_bus, "Source": EVENT_SOURCE,
                                    "DetailType": DEPLOY_DETAIL_TYPE,
                                    "Detail": {**detail, "task_token.$": "$$.Task.Token"}}]},
    }}}


@pytest.fixture(scope="module")
def control_plane() -> Iterator[dict[str, Any]]:
    """moto with the bus (a queue on the deploy rule), the deploy machine, the key and the project, once per module."""
    env = pytest.MonkeyPatch()
    for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        env.setenv(key, value)
    with mock_aws(config=EXECUTE):
        speed_up()
        events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=TARGETS.event_bus)
        queue = sqs.create_queue(QueueName="deploy-requests")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="deploy", EventBusName=TARGETS.event_bus,
                        EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [DEPLOY_DETAIL_TYPE]}))
        events.put_targets(Rule="deploy", EventBusName=TARGETS.event_bus, Targets=[{"Id": "q", "Arn": queue_arn}])
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(name="deploy", definition=json.dumps(_machine()), roleArn=ROLE)
        key = boto3.client("kms", region_name=REGION).create_key(Description="control plane")["KeyMetadata"]["Arn"]
        boto3.client("codebuild", region_name=REGION).create_project(
            name=deployer.project_name(TARGETS),
            source={"type": "GITHUB", "location": "https://github.com/example/cells", "buildspec": deployer.buildspec_text()},
            artifacts={"type": "NO_ARTIFACTS"}, serviceRole=ROLE,
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_SMALL"})
        boto3.setup_default_session(region_name=REGION)  # the handler's clients; the recorder hooks into them
        sent: list[bytes] = []
        boto3.DEFAULT_SESSION.events.register(
            "request-created.codebuild.StartBuild", lambda request, **_: sent.append(bytes(request.body)))
        yield {"sfn": sfn, "sqs": sqs, "queue": queue, "machine": machine["stateMachineArn"], "key": key,
               "sent": sent, "ssm": boto3.client("ssm", region_name=REGION),
               "codebuild": boto3.client("codebuild", region_name=REGION)}
        boto3.DEFAULT_SESSION = None
    env.undo()


@pytest.fixture
def aws(control_plane: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The shared control plane with no parameter, no recorded StartBuild and the hand-off's environment."""
    for parameter in _parameters(control_plane):
        control_plane["ssm"].delete_parameter(Name=parameter["Name"])
    control_plane["sent"].clear()
    for name, value in deployer.handoff_environment(TARGETS, control_plane["key"]).items():
        monkeypatch.setenv(name, value)
    return {**control_plane, "builds": _builds(control_plane)}


def _builds(aws: dict[str, Any]) -> list[str]:
    return list(aws["codebuild"].list_builds()["ids"])


def _deliver(aws: dict[str, Any], request: dict[str, str]) -> tuple[dict[str, Any], str, str]:
    """Start the execution, hand its CellDeployRequested event to the handler: (result, token, execution ARN)."""
    execution = aws["sfn"].start_execution(stateMachineArn=aws["machine"], name=uuid.uuid4().hex,
                                           input=json.dumps(request))["executionArn"]
    deadline = time.monotonic() + 20
    while not (messages := aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=1).get("Messages")):
        assert time.monotonic() < deadline, "no CellDeployRequested event"
        time.sleep(0.05)
    event = json.loads(messages[0]["Body"])
    return codebuild_handoff.handler(event), event["detail"]["task_token"], execution


def _finished(aws: dict[str, Any], execution: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while (description := aws["sfn"].describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution is still waiting for its task token"
        time.sleep(0.05)
    return dict(description)


def _parameters(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return list(aws["ssm"].describe_parameters()["Parameters"])


def test_the_build_gets_the_token_only_as_a_parameter_store_reference(aws: dict[str, Any]) -> None:
    result, token, execution = _deliver(aws, REQUEST)
    assert result["started"] is True
    assert set(_builds(aws)) - set(aws["builds"]) == {result["build"]}
    [body] = aws["sent"]
    assert token not in body.decode()  # nowhere in what CodeBuild receives, shows or keeps
    overrides = {o["name"]: o for o in json.loads(body)["environmentVariablesOverride"]}
    parameter = f"/cellfleet/deploy-tokens/{REQUEST['rollout']}/smb-us-1/deploy"
    assert overrides["TASK_TOKEN"] == {"name": "TASK_TOKEN", "value": parameter, "type": "PARAMETER_STORE"}
    assert overrides["TASK_TOKEN_PARAMETER"]["value"] == parameter
    assert {n: (o["value"], o["type"]) for n, o in overrides.items() if n not in {"TASK_TOKEN", "TASK_TOKEN_PARAMETER"}} == {
        "CELL_ID": ("smb-us-1", "PLAINTEXT"), "DEPLOY_ACTION": ("deploy", "PLAINTEXT"), "RELEASE": ("2.5.0", "PLAINTEXT"),
        "PREVIOUS_RELEASE": ("2.4.0", "PLAINTEXT"), "WAVE": ("smb-wave-2", "PLAINTEXT"),
        "ROLLOUT": (REQUEST["rollout"], "PLAINTEXT")}
    [stored] = _parameters(aws)
    assert (stored["Name"], stored["Type"], stored["KeyId"]) == (parameter, "SecureString", aws["key"])
    assert aws["sfn"].describe_execution(executionArn=execution)["status"] == "RUNNING"  # the build answers, not the Lambda

    # The build: CodeBuild resolves the override with the build role's ssm:GetParameters + kms:Decrypt,
    # the buildspec answers the token, then deletes the parameter (post_build `finally`).
    [resolved] = aws["ssm"].get_parameters(Names=[overrides["TASK_TOKEN"]["value"]], WithDecryption=True)["Parameters"]
    assert resolved["Value"] == token
    aws["sfn"].send_task_success(taskToken=resolved["Value"], output=json.dumps({"cell_id": "smb-us-1"}))
    aws["ssm"].delete_parameter(Name=overrides["TASK_TOKEN_PARAMETER"]["value"])
    assert _finished(aws, execution)["status"] == "SUCCEEDED"
    assert _parameters(aws) == []


@pytest.mark.parametrize(("change", "error", "cause"), [
    ({"cell_id": "control-plane"}, "ReservedStack", "control-plane is a reserved stack, not a cell"),
    ({"cell_id": "landing-zone"}, "ReservedStack", "landing-zone is a reserved stack, not a cell"),
    ({"cell_id": "smb-us-1; touch pwned"}, "InvalidRequest", "cell_id is not a cell id"),
    ({"cell_id": "../prod"}, "InvalidRequest", "cell_id is not a cell id"),
    ({"version": "none"}, "InvalidRequest", "version is not a release version or declared"),
    ({"version": '2.5.0"; touch pwned; "'}, "InvalidRequest", "version is not a release version or declared"),
    ({"action": "destroy"}, "InvalidRequest", "action must be one of deploy, rollback"),
    ({"rollout": "r1/../../other"}, "InvalidRequest", "rollout is not a name of letters, digits, '-' and '_'"),
])
def test_a_refused_request_starts_no_build_and_fails_the_task(aws: dict[str, Any], change: dict[str, str],
                                                              error: str, cause: str) -> None:
    result, token, execution = _deliver(aws, {**REQUEST, **change})
    assert (result["started"], result["answered"], result["error"], result["cause"]) == (False, True, error, cause)
    assert aws["sent"] == []
    assert _builds(aws) == aws["builds"]
    assert _parameters(aws) == []  # the token was never written anywhere
    finished = _finished(aws, execution)
    assert (finished["status"], finished["error"]) == ("FAILED", error)  # moto keeps no task failure cause
    assert token not in json.dumps(result)


def test_a_build_that_cannot_start_fails_the_task_and_leaves_no_token(aws: dict[str, Any],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYER_PROJECT", "no-such-project")
    result, token, execution = _deliver(aws, REQUEST)
    assert (result["error"], result["cause"]) == ("DeployerStartFailed",
                                                  "could not start no-such-project: ResourceNotFoundException")
    assert _parameters(aws) == []
    assert _finished(aws, execution)["error"] == "DeployerStartFailed"
    assert token not in json.dumps(result)


def test_a_misconfigured_handoff_fails_the_task(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKEN_KEY_ID")
    result, _, execution = _deliver(aws, REQUEST)
    assert result["error"] == "DeployerMisconfigured"
    assert _finished(aws, execution)["error"] == "DeployerMisconfigured"
    assert aws["sent"] == [] and _parameters(aws) == []


def test_a_token_nobody_waits_for_any_more_is_reported_not_raised(aws: dict[str, Any]) -> None:
    result = codebuild_handoff.handler({"detail": {**REQUEST, "cell_id": "control-plane", "task_token": "gone"}})
    assert (result["started"], result["answered"], result["error"]) == (False, False, "ReservedStack")
    assert result["answer_error"]  # Step Functions' error code, e.g. InvalidToken


def test_an_event_without_a_token_is_ignored() -> None:
    assert codebuild_handoff.handler({"detail": {"cell_id": "smb-us-1"}})["started"] is False
    assert codebuild_handoff.handler({})["started"] is False


def test_the_runtime_copy_of_the_contract_agrees_with_ours() -> None:
    """runtime/ imports nothing of ours, so its patterns and names are repeated; they must not drift."""
    assert codebuild_handoff.CELL_ID.pattern == CELL_ID.pattern
    assert codebuild_handoff.SEMVER.pattern == SEMVER.pattern
    assert set(deployer.RESERVED_STACKS) == codebuild_handoff.RESERVED_STACKS
    assert set(deployer.ACTIONS) == codebuild_handoff.ACTIONS
    assert (codebuild_handoff.DECLARED, codebuild_handoff.NO_RELEASE) == (DECLARED_RELEASES, NO_RELEASE)
    assert codebuild_handoff.DETAIL_TO_ENV == deployer.DETAIL_TO_ENV
    assert (codebuild_handoff.CALLBACK_ENV, codebuild_handoff.CALLBACK_PARAMETER_ENV) == (
        deployer.CALLBACK_ENV, deployer.CALLBACK_PARAMETER_ENV)
    assert codebuild_handoff.NAME.match("v2-5-0-20261202T010000Z")  # fleet.rollouts.execution_name's shape
