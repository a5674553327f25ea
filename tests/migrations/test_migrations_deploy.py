"""The migration orchestrators in the control-plane stack (Pulumi's mocks): logging and their own grants."""

from __future__ import annotations

import json

import pytest

from fleet.inputs import load_inputs
from fleet.mocking import Inventory, run_program
from fleet.options import REPO_ROOT
from fleet.stacks import control_plane_program
from migrations.orchestrator import machine_arn, machine_name
from pipelines.targets import Targets

ACCOUNT = "210987654321"
REGION = "eu-west-1"
TARGETS = Targets(region=REGION, account=ACCOUNT)
MIGRATION = "2025-01-15-recipient-id-column"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    from fleet.mocking import new_event_loop

    new_event_loop()
    return run_program(lambda: control_plane_program(load_inputs(REPO_ROOT)), stack="control-plane",
                       config={"cellfleet:account": ACCOUNT, "aws:region": REGION})


def test_orchestrators_log_errors_only_never_execution_data(inventory: Inventory) -> None:
    """Task tokens travel in the states' data (approvals, cell work): the logs must not carry them."""
    [machine] = [m for m in inventory.of_type("aws:sfn/stateMachine:StateMachine")
                 if m.inputs["name"] == machine_name(TARGETS, MIGRATION)]
    logging = machine.inputs["loggingConfiguration"]
    assert logging["level"] == "ERROR"
    assert logging["includeExecutionData"] is False
    assert logging["logDestination"].endswith(":*")


def test_orchestrator_may_start_and_follow_only_its_own_children(inventory: Inventory) -> None:
    """Its Distributed Maps run children of this machine only (`execution:<machine>/<map run>:<id>`)."""
    [policy] = [p for p in inventory.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.name == "control-plane-migrations-policy"]
    granted = {(a, r) for s in json.loads(policy.inputs["policy"])["Statement"] for a in s["Action"]
               for r in s["Resource"]}
    me = machine_arn(TARGETS, MIGRATION)
    assert me.endswith(f":stateMachine:{machine_name(TARGETS, MIGRATION)}")
    assert ("states:StartExecution", me) in granted
    children = me.replace(":stateMachine:", ":execution:") + "/*"
    assert {("states:DescribeExecution", children), ("states:StopExecution", children)} <= granted
    assert not [r for a, r in granted if a.startswith("states:") and r not in {me, children}]
    # the step objects: read (pinned versions) in the plan bucket only, never written
    plans = f"arn:aws:s3:::{TARGETS.plan_bucket}/plans/*"
    assert {a for a, r in granted if a.startswith("s3:")} == {"s3:GetObject", "s3:GetObjectVersion"}
    assert {r for a, r in granted if a.startswith("s3:")} == {plans}


def test_orchestrator_decrypts_step_objects_only_through_s3_for_the_plan_bucket(inventory: Inventory) -> None:
    [policy] = [p for p in inventory.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.name == "control-plane-migrations-plans-key"]
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == ["kms:Decrypt"]
    assert statement["Resource"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"
    assert statement["Condition"] == {"StringEquals": {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{TARGETS.plan_bucket}",
    }}
