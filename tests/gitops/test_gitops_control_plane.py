"""The control-plane stack of a GitOps fleet under Pulumi's mocks: the Argo CD deployer Lambda answers deploys."""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest

import runtime.argocd_deployer
from fleet.inputs import FleetInputs, load_inputs
from fleet.mocking import Inventory, Registered, new_event_loop, run_program
from fleet.options import REPO_ROOT
from fleet.stacks import ARGOCD_DEPLOYER_SOURCE, control_plane_program
from model.cells import Fleet
from model.contract import ARGOCD_TOKEN_SECRET_KEY, ARGOCD_URL_KEY, CONFIG_NAMESPACE, Delivery

ACCOUNT = "210987654321"
REGION = "eu-west-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:argocd-token"
CONFIG = {"cellfleet:account": ACCOUNT, "aws:region": REGION}
GITOPS_CONFIG = {**CONFIG, f"{CONFIG_NAMESPACE}:{ARGOCD_URL_KEY}": "https://argocd.example.com",
                 f"{CONFIG_NAMESPACE}:{ARGOCD_TOKEN_SECRET_KEY}": SECRET}
FUNCTION = "aws:lambda/function:Function"


def gitops(inputs: FleetInputs) -> FleetInputs:
    cells = tuple(cell.model_copy(update={"delivery": Delivery.GITOPS}) for cell in inputs.fleet.cells)
    return dataclasses.replace(inputs, fleet=Fleet(cells, inputs.fleet.sources))


def run(inputs: FleetInputs, config: dict[str, str]) -> Inventory:
    new_event_loop()
    return run_program(lambda: control_plane_program(inputs), stack="control-plane", config=config)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return run(gitops(load_inputs(REPO_ROOT)), GITOPS_CONFIG)


def one(inventory: Inventory, type_: str) -> Registered:
    [found] = inventory.of_type(type_)
    return found


def test_the_lambda_runs_the_argocd_deployer(inventory: Inventory) -> None:
    function = one(inventory, FUNCTION)
    assert function.inputs["name"] == "cellfleet-argocd-deployer"
    assert function.inputs["handler"] == "argocd_deployer.handler"
    # The mocks see the AssetArchive only by its repr: check the file it packages instead.
    assert ARGOCD_DEPLOYER_SOURCE.name == "argocd_deployer.py"
    assert ARGOCD_DEPLOYER_SOURCE.samefile(runtime.argocd_deployer.__file__)
    assert callable(runtime.argocd_deployer.handler)
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["timeout"] == 900
    env = function.inputs["environment"]["variables"]
    assert env["ARGOCD_URL"] == "https://argocd.example.com"
    assert env["ARGOCD_TOKEN_SECRET_ARN"] == SECRET
    assert int(env["WAIT_SECONDS"]) < 900  # answers before Lambda stops it
    assert one(inventory, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs[
        "maximumRetryAttempts"] == 0


def test_the_rule_targets_the_lambda_not_codebuild(inventory: Inventory) -> None:
    assert inventory.of_type("aws:codebuild/project:Project") == []
    function, rule = one(inventory, FUNCTION), one(inventory, "aws:cloudwatch/eventRule:EventRule")
    target = one(inventory, "aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["rule"] == rule.inputs["name"] == "cell-deploy-requested"
    assert target.inputs["arn"] == function.state["arn"]
    permission = one(inventory, "aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"] == rule.state["arn"]
    assert permission.inputs["function"] == function.inputs["name"]
    assert inventory.outputs["deployerFunction"] == "cellfleet-argocd-deployer"


def test_the_role_is_least_privilege_and_trusts_only_this_function(inventory: Inventory) -> None:
    function = one(inventory, FUNCTION)
    [role] = [r for r in inventory.of_type("aws:iam/role:Role") if r.state["arn"] == function.inputs["role"]]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:cellfleet-argocd-deployer"]}
    [policy] = [p for p in inventory.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.state["id"]]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    actions = [action for statement in statements for action in statement["Action"]]
    assert actions and not any("*" in action for action in actions)
    assert {"Sid": "ReadArgoCdToken", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [SECRET]} in statements


def test_the_log_group_is_encrypted_and_kept(inventory: Inventory) -> None:
    [logs] = [g for g in inventory.of_type("aws:cloudwatch/logGroup:LogGroup")
              if g.inputs["name"] == "/aws/lambda/cellfleet-argocd-deployer"]
    [key] = [k for k in inventory.of_type("aws:kms/key:Key") if k.name == "control-plane-logs-key"]
    assert logs.inputs["kmsKeyId"] == key.state["arn"]
    assert logs.inputs["retentionInDays"] == 365


def test_a_pulumi_fleet_deploys_with_codebuild() -> None:
    inventory = run(load_inputs(REPO_ROOT), CONFIG)
    [function] = inventory.of_type(FUNCTION)  # the hand-off that keeps the task token out of the build's details
    assert function.inputs["name"] == "cellfleet-deploy-handoff"
    assert len(inventory.of_type("aws:codebuild/project:Project")) == 1


def test_gitops_without_argocd_config_is_a_clear_error() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        run(gitops(load_inputs(REPO_ROOT)), CONFIG)
    message = str(caught.value)
    assert "config cellfleet:argocdUrl: required when the fleet's delivery is gitops" in message
    assert "config cellfleet:argocdTokenSecretArn: required" in message
