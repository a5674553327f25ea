"""The control-plane stack under Pulumi's mocks: resources, and a policy derived from the definitions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fleet.inputs import load_inputs
from fleet.mocking import Inventory, Registered, run_program
from fleet.options import REPO_ROOT
from fleet.stacks import control_plane_program
from model.contract import DEFAULT_PAGING_TOPIC, DEPLOY_DETAIL_TYPE, EVENT_SOURCE
from pipelines.iam import readers, tasks
from pipelines.targets import Targets

ACCOUNT = "210987654321"
REGION = "eu-west-1"
TARGETS = Targets(region=REGION, account=ACCOUNT)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    from fleet.mocking import new_event_loop

    new_event_loop()
    inputs = load_inputs(REPO_ROOT)
    return run_program(lambda: control_plane_program(inputs), stack="control-plane",
                       config={"cellfleet:account": ACCOUNT, "aws:region": REGION})


def one(inventory: Inventory, type_: str, name: str) -> Registered:
    [found] = [r for r in inventory.of_type(type_) if r.name == name]
    return found


PIPELINE_MACHINES = ["cellfleet-batch", "cellfleet-rollout", "cellfleet-wave"]
MIGRATION_MACHINES = ["cellfleet-migration-2025-01-15-recipient-id-column"]


def machines(inventory: Inventory, role: str = "control-plane-pipeline-role") -> dict[str, dict[str, Any]]:
    """Definitions of the state machines that run under `role`, by machine name."""
    arn = one(inventory, "aws:iam/role:Role", role).state["arn"]
    return {r.inputs["name"]: json.loads(r.inputs["definition"])
            for r in inventory.of_type("aws:sfn/stateMachine:StateMachine") if r.inputs["roleArn"] == arn}


def test_state_machines_log_and_trace(inventory: Inventory) -> None:
    found = inventory.of_type("aws:sfn/stateMachine:StateMachine")
    assert sorted(r.inputs["name"] for r in found) == sorted(PIPELINE_MACHINES + MIGRATION_MACHINES)
    assert sorted(machines(inventory)) == PIPELINE_MACHINES
    assert sorted(machines(inventory, "control-plane-migrations-role")) == MIGRATION_MACHINES
    for machine in found:
        assert machine.inputs["type"] == "STANDARD"
        assert machine.inputs["tracingConfiguration"] == {"enabled": True}
        assert machine.inputs["loggingConfiguration"]["logDestination"].endswith(":*")
    for machine in inventory.of_type("aws:sfn/stateMachine:StateMachine"):
        if machine.inputs["name"] in PIPELINE_MACHINES:  # task tokens travel in their states' data
            assert machine.inputs["loggingConfiguration"]["level"] == "ERROR"
            assert machine.inputs["loggingConfiguration"]["includeExecutionData"] is False


def test_channels_of_the_contract_exist(inventory: Inventory) -> None:
    assert one(inventory, "aws:cloudwatch/eventBus:EventBus", "control-plane-bus").inputs["name"] == TARGETS.event_bus
    topics = {r.inputs["name"] for r in inventory.of_type("aws:sns/topic:Topic")}
    assert topics == {TARGETS.approvals_topic, TARGETS.notifications_topic, DEFAULT_PAGING_TOPIC}  # paging: issue 16
    table = one(inventory, "aws:dynamodb/table:Table", "control-plane-registry").inputs
    assert table["name"] == TARGETS.registry_table
    assert table["hashKey"] == "cell_id"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True}
    state = one(inventory, "aws:dynamodb/table:Table", "control-plane-rollout-state").inputs
    assert (state["name"], state["hashKey"]) == (TARGETS.rollout_table, "cell_id")


def _expected_grants(definitions: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """(action, resource) pairs read straight off each Task state, independently of pipelines.iam."""
    pairs: set[tuple[str, str]] = set()
    for name, definition in definitions.items():
        for reader in readers(definition):  # a Distributed Map: the plan objects, its own child executions
            bucket = reader["ItemReader"]["Parameters"]["Bucket"]
            pairs |= {(a, f"arn:aws:s3:::{bucket}/plans/*") for a in ("s3:GetObject", "s3:GetObjectVersion")}
            pairs.add(("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"))
            children = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}/*"
            pairs |= {("states:DescribeExecution", children), ("states:StopExecution", children)}
        for task in tasks(definition):
            resource, params = task["Resource"], task["Parameters"]
            if ":sns:publish" in resource:
                pairs.add(("sns:Publish", params["TopicArn"]))
            elif ":events:putEvents" in resource:
                bus = params["Entries"][0]["EventBusName"]
                pairs.add(("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"))
            elif ":dynamodb:" in resource:
                action = "dynamodb:" + resource.rsplit(":", 1)[1][:1].upper() + resource.rsplit(":", 1)[1][1:]
                pairs.add((action, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{params['TableName']}"))
            elif resource.endswith(":cloudwatch:describeAlarms"):
                pairs.add(("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:cell-*"))
            elif ":states:startExecution.sync" in resource:
                machine = params["StateMachineArn"]
                pairs.add(("states:StartExecution", machine))
                executions = machine.replace(":stateMachine:", ":execution:") + ":*"
                pairs |= {("states:DescribeExecution", executions), ("states:StopExecution", executions)}
                rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
                pairs |= {(a, rule) for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule")}
            else:
                raise AssertionError(f"unexpected resource {resource}")
    return pairs


def test_pipeline_policy_is_exactly_what_the_definitions_use(inventory: Inventory) -> None:
    policy = json.loads(one(inventory, "aws:iam/rolePolicy:RolePolicy", "control-plane-pipeline-policy").inputs["policy"])
    granted = {(a, r) for s in policy["Statement"] for a in s["Action"] for r in s["Resource"]}
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert not [a for a, _ in granted if "*" in a], "no wildcard actions"
    assert not [r for _, r in granted if r == "*"], "no wildcard resources"
    assert granted == _expected_grants(machines(inventory))


def test_migration_orchestrators_get_only_what_their_definitions_use(inventory: Inventory) -> None:
    table = one(inventory, "aws:dynamodb/table:Table", "control-plane-migrations").inputs
    assert (table["name"], table["hashKey"], table["rangeKey"]) == ("cellfleet-migrations", "migration_id", "key")
    assert table["pointInTimeRecovery"] == {"enabled": True}
    policy = json.loads(one(inventory, "aws:iam/rolePolicy:RolePolicy", "control-plane-migrations-policy").inputs["policy"])
    granted = {(a, r) for s in policy["Statement"] for a in s["Action"] for r in s["Resource"]}
    assert not [a for a, _ in granted if "*" in a], "no wildcard actions"
    assert granted == _expected_grants(machines(inventory, "control-plane-migrations-role"))
    assert ("dynamodb:UpdateItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/cellfleet-migrations") in granted


def test_observability_policy_only_logs_and_xray(inventory: Inventory) -> None:
    policy = json.loads(one(inventory, "aws:iam/rolePolicy:RolePolicy", "control-plane-pipeline-observability").inputs["policy"])
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert all(a.split(":")[0] in {"logs", "xray"} and "*" not in a for a in actions)


def test_reference_deployer_answers_the_task_token(inventory: Inventory) -> None:
    rule = one(inventory, "aws:cloudwatch/eventRule:EventRule", "control-plane-deploy-requested").inputs
    assert json.loads(rule["eventPattern"]) == {"detail-type": [DEPLOY_DETAIL_TYPE], "source": [EVENT_SOURCE]}
    target = one(inventory, "aws:cloudwatch/eventTarget:EventTarget", "control-plane-deploy-requested-target").inputs
    assert target["inputTransformer"]["inputPaths"]["task_token"] == "$.detail.task_token"
    overrides = json.loads(target["inputTransformer"]["inputTemplate"])["environmentVariablesOverride"]
    assert {o["name"] for o in overrides} >= {"CELL_ID", "RELEASE", "TASK_TOKEN", "DEPLOY_ACTION"}
    project = one(inventory, "aws:codebuild/project:Project", "control-plane-cell-deployer").inputs
    spec = json.loads(project["source"]["buildspec"])
    build = " ".join(spec["phases"]["build"]["commands"])
    assert 'pulumi up --yes --skip-preview --stack "$CELL_ID"' in build
    assert "$RELEASE" in build
    answer = " ".join(spec["phases"]["post_build"]["commands"])
    assert "send-task-success" in answer
    assert "send-task-failure" in answer
    assert "$TASK_TOKEN" in answer
    events_policy = json.loads(
        one(inventory, "aws:iam/rolePolicy:RolePolicy", "control-plane-deployer-events-policy").inputs["policy"])
    assert [s["Action"] for s in events_policy["Statement"]] == [["codebuild:StartBuild"]]


def test_control_plane_stack_name_selects_this_program() -> None:
    from fleet.mocking import new_event_loop
    from fleet.stacks import program_for

    new_event_loop()
    inventory = run_program(program_for("control-plane", REPO_ROOT), stack="control-plane",
                            config={"cellfleet:account": ACCOUNT, "aws:region": REGION})
    assert len(inventory.of_type("aws:sfn/stateMachine:StateMachine")) == len(PIPELINE_MACHINES + MIGRATION_MACHINES)


def test_only_the_pipelines_roles_may_put_events_on_the_bus(inventory: Inventory) -> None:
    """EventBridge.3: the bus has a resource policy; a Deny keeps every other principal out."""
    bus_policy = one(inventory, "aws:cloudwatch/eventBusPolicy:EventBusPolicy", "control-plane-bus-policy").inputs
    assert bus_policy["eventBusName"] == TARGETS.event_bus
    statements = {s["Sid"]: s for s in json.loads(bus_policy["policy"])["Statement"]}
    role_arn = one(inventory, "aws:iam/role:Role", "control-plane-pipeline-role").state["arn"]
    allow, deny = statements["PipelinePublishes"], statements["NobodyElsePublishes"]
    assert (allow["Effect"], allow["Principal"], allow["Action"]) == ("Allow", {"AWS": role_arn}, "events:PutEvents")
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "events:PutEvents")
    assert deny["Resource"] == allow["Resource"] == TARGETS.event_bus_arn
    assert deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [
        role_arn, f"arn:aws:iam::{ACCOUNT}:role/control-plane-migrations-role-*"]


@pytest.mark.parametrize(("role", "service", "source"), [
    ("control-plane-pipeline-role", "states.amazonaws.com", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:cellfleet-*"),
    ("control-plane-deployer-role", "codebuild.amazonaws.com",
     f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/cellfleet-cell-deployer"),
    ("control-plane-deployer-events-role", "events.amazonaws.com",
     f"arn:aws:events:{REGION}:{ACCOUNT}:rule/cellfleet-deployments/cell-deploy-requested"),
])
def test_service_roles_trust_only_this_accounts_resources(inventory: Inventory, role: str, service: str,
                                                          source: str) -> None:
    [statement] = json.loads(one(inventory, "aws:iam/role:Role", role).inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                      "ArnLike": {"aws:SourceArn": [source]}}


def test_log_groups_and_topics_are_encrypted_and_expire(inventory: Inventory) -> None:
    key = one(inventory, "aws:kms/key:Key", "control-plane-logs-key")
    assert key.inputs["enableKeyRotation"] is True
    key_policy = json.loads(key.inputs["policy"])
    assert not [a for s in key_policy["Statement"] for a in s["Action"] if "*" in a], "no wildcard actions"
    [logs_use] = [s for s in key_policy["Statement"] if s["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}]
    assert logs_use["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*")
    groups = {r.name: r.inputs for r in inventory.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for name in ("control-plane-pipeline-logs", "control-plane-deployer-logs"):
        assert groups[name]["kmsKeyId"] == key.state["arn"]
        assert groups[name]["retentionInDays"] == 365
    for topic in inventory.of_type("aws:sns/topic:Topic"):  # SNS.1
        assert topic.inputs["kmsMasterKeyId"]


def test_deployer_installs_a_pinned_cli_and_refuses_without_a_checksum(inventory: Inventory) -> None:
    project = one(inventory, "aws:codebuild/project:Project", "control-plane-cell-deployer").inputs
    commands = " ".join(json.loads(project["source"]["buildspec"])["phases"]["build"]["commands"])
    assert "get.pulumi.com |" not in commands and "latest" not in commands
    assert "refused: no SHA-256 configured for the Pulumi CLI" in commands  # no checksum in this stack's config
