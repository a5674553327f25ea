"""The control-plane stack under Pulumi's mocks: resources, and a policy derived from the definitions."""

from __future__ import annotations

import json
from typing import Any

import pytest

import runtime.codebuild_handoff
from fleet.inputs import load_inputs
from fleet.mocking import Inventory, Registered, run_program
from fleet.options import REPO_ROOT
from fleet.stacks import CODEBUILD_HANDOFF_SOURCE, control_plane_program
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


def _token_uses(node: Any, path: str = "") -> list[str]:
    """Paths of every value that is the task token (`$$.Task.Token`) in a definition."""
    if isinstance(node, dict):
        return [u for k, v in node.items() for u in _token_uses(v, f"{path}/{k}")]
    if isinstance(node, list):
        return [u for i, v in enumerate(node) for u in _token_uses(v, f"{path}/{i}")]
    return [path] if isinstance(node, str) and "$$.Task.Token" in node else []


def _states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Every state, those inside Map processors and Parallel branches included."""
    found = []
    for state in definition.get("States", {}).values():
        found.append(state)
        for inner in [state.get("ItemProcessor") or state.get("Iterator") or {}, *state.get("Branches", [])]:
            found += _states(inner)
    return found


def test_task_tokens_go_only_to_the_callback_that_answers_them(inventory: Inventory) -> None:
    """A token is handed out only in a `.waitForTaskToken` task's request, as `task_token`; no state keeps it."""
    used = 0
    for name, definition in machines(inventory).items():
        for task in tasks(definition):
            uses = _token_uses(task)
            if not uses:
                continue
            used += len(uses)
            assert task["Resource"].endswith(".waitForTaskToken"), (name, task["Resource"])
            assert all(u.startswith("/Parameters/") and u.endswith("/task_token.$") for u in uses), (name, uses)
            assert "ResultPath" in task and task["ResultPath"] is None, name  # the answer's output is dropped
        others = [state for state in _states(definition) if state["Type"] not in {"Task", "Map", "Parallel"}]
        assert not _token_uses(others), name
    assert used >= 3  # deploy request, wave approval, cell approval


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
            elif resource.endswith(":cloudwatch:getMetricData"):  # no resource-level permissions on AWS
                pairs.add(("cloudwatch:GetMetricData", "*"))
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
    assert [a for a, r in granted if r == "*"] == ["cloudwatch:GetMetricData"], "no other wildcard resource"
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
    project = one(inventory, "aws:codebuild/project:Project", "control-plane-cell-deployer").inputs
    spec = json.loads(project["source"]["buildspec"])
    build = " ".join(spec["phases"]["build"]["commands"])
    assert 'pulumi up --yes --skip-preview --stack "$CELL_ID"' in build
    assert "$RELEASE" in build
    answer = " ".join(spec["phases"]["post_build"]["commands"])
    assert "send-task-success" in answer
    assert "send-task-failure" in answer
    assert "$TASK_TOKEN" in answer
    assert spec["phases"]["post_build"]["finally"] == ['aws ssm delete-parameter --name "$TASK_TOKEN_PARAMETER"']


HANDOFF = "control-plane-deploy-handoff"
TOKENS = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/cellfleet/deploy-tokens/*"
PROJECT = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/cellfleet-cell-deployer"


def _grants(inventory: Inventory, policy: str) -> dict[str, set[str]]:
    """Action -> resources of one role policy; no wildcard action, no `*` resource."""
    document = json.loads(one(inventory, "aws:iam/rolePolicy:RolePolicy", policy).inputs["policy"])
    grants: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, action
            grants.setdefault(action, set()).update(statement["Resource"])
    assert "*" not in {r for resources in grants.values() for r in resources}
    return grants


def test_the_deploy_rule_invokes_the_handoff_lambda_not_codebuild(inventory: Inventory) -> None:
    """The token never rides in an input transformer to StartBuild: the rule's only target is the hand-off."""
    [target] = inventory.of_type("aws:cloudwatch/eventTarget:EventTarget")
    function = one(inventory, "aws:lambda/function:Function", HANDOFF)
    assert target.inputs["arn"] == function.state["arn"]
    assert "inputTransformer" not in target.inputs and "roleArn" not in target.inputs
    [permission] = inventory.of_type("aws:lambda/permission:Permission")
    rule = one(inventory, "aws:cloudwatch/eventRule:EventRule", "control-plane-deploy-requested")
    assert (permission.inputs["principal"], permission.inputs["sourceArn"]) == ("events.amazonaws.com", rule.state["arn"])
    assert function.inputs["handler"] == "codebuild_handoff.handler"
    assert CODEBUILD_HANDOFF_SOURCE.samefile(runtime.codebuild_handoff.__file__)
    key = one(inventory, "aws:kms/key:Key", "control-plane-logs-key").state["arn"]
    assert function.inputs["environment"]["variables"] == {
        "DEPLOYER_PROJECT": "cellfleet-cell-deployer", "TOKEN_PARAMETER_PREFIX": "/cellfleet/deploy-tokens",
        "TOKEN_KEY_ID": key}
    [invoke] = inventory.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert invoke.inputs["maximumRetryAttempts"] == 0


def test_handoff_and_build_roles_are_scoped_to_the_token_path_project_and_key(inventory: Inventory) -> None:
    key = one(inventory, "aws:kms/key:Key", "control-plane-logs-key").state["arn"]
    machines = {f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}" for name in PIPELINE_MACHINES}
    handoff = _grants(inventory, f"{HANDOFF}-policy")
    assert handoff.pop("logs:CreateLogStream") == handoff.pop("logs:PutLogEvents")
    assert handoff == {"ssm:PutParameter": {TOKENS}, "ssm:DeleteParameter": {TOKENS}, "kms:Encrypt": {key},
                       "kms:GenerateDataKey": {key}, "codebuild:StartBuild": {PROJECT},
                       "states:SendTaskFailure": machines}
    build = _grants(inventory, "control-plane-deployer-policy")
    assert build.pop("logs:CreateLogStream") == build.pop("logs:PutLogEvents")
    assert build == {"ssm:GetParameters": {TOKENS}, "ssm:DeleteParameter": {TOKENS}, "kms:Decrypt": {key},
                     **{f"states:SendTask{a}": machines for a in ("Failure", "Heartbeat", "Success")}}
    statements = json.loads(one(inventory, "aws:kms/key:Key", "control-plane-logs-key").inputs["policy"])["Statement"]
    [tokens] = [s for s in statements if s["Sid"] == "DeployTokensThroughParameterStore"]
    assert tokens["Condition"] == {"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"},
                                   "ArnLike": {"kms:EncryptionContext:PARAMETER_ARN": TOKENS}}
    assert tokens["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


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
    ("control-plane-deploy-handoff-role", "lambda.amazonaws.com",
     f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:cellfleet-deploy-handoff"),
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
    for name in ("control-plane-pipeline-logs", "control-plane-deployer-logs", "control-plane-deploy-handoff-logs"):
        assert groups[name]["kmsKeyId"] == key.state["arn"]
        assert groups[name]["retentionInDays"] == 365
    for topic in inventory.of_type("aws:sns/topic:Topic"):  # SNS.1
        assert topic.inputs["kmsMasterKeyId"]


def test_deployer_installs_a_pinned_cli_and_refuses_without_a_checksum(inventory: Inventory) -> None:
    project = one(inventory, "aws:codebuild/project:Project", "control-plane-cell-deployer").inputs
    commands = " ".join(json.loads(project["source"]["buildspec"])["phases"]["build"]["commands"])
    assert "get.pulumi.com |" not in commands and "latest" not in commands
    assert "refused: no SHA-256 configured for the Pulumi CLI" in commands  # no checksum in this stack's config
