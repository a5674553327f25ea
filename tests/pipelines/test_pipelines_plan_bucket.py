"""The plan bucket in the control-plane stack (issue 18), under Pulumi's mocks: private, versioned, KMS, TLS only."""

from __future__ import annotations

import json

import pytest

from fleet.inputs import load_inputs
from fleet.mocking import Inventory, Registered, run_program
from fleet.options import REPO_ROOT
from fleet.stacks import control_plane_program
from pipelines.targets import Targets

ACCOUNT = "210987654321"
REGION = "eu-west-1"
TARGETS = Targets(region=REGION, account=ACCOUNT)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    from fleet.mocking import new_event_loop

    new_event_loop()
    return run_program(lambda: control_plane_program(load_inputs(REPO_ROOT)), stack="control-plane",
                       config={"cellfleet:account": ACCOUNT, "aws:region": REGION})


def one(inventory: Inventory, type_: str) -> Registered:
    [found] = [r for r in inventory.of_type(type_) if r.name.startswith("control-plane-plans")]
    return found


def test_the_plan_bucket_is_private_versioned_encrypted_and_tls_only(inventory: Inventory) -> None:
    bucket = one(inventory, "aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == TARGETS.plan_bucket
    private = one(inventory, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(private[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    versioning = one(inventory, "aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    [rule] = one(inventory, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
                 ).inputs["rules"]
    key = one(inventory, "aws:kms/key:Key")
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.state["arn"]}
    assert key.inputs["enableKeyRotation"] is True
    policy = json.loads(one(inventory, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    tls = next(s for s in policy["Statement"] if s["Sid"] == "TlsOnly")
    assert (tls["Effect"], tls["Action"], tls["Condition"]) == ("Deny", "s3:*", {"Bool": {"aws:SecureTransport": "false"}})


def test_the_pipeline_role_reads_only_the_plans_prefix(inventory: Inventory) -> None:
    [policy] = [r for r in inventory.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "control-plane-pipeline-policy"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in s3] == [
        (["s3:GetObject", "s3:GetObjectVersion"], [f"arn:aws:s3:::{TARGETS.plan_bucket}/plans/*"])]
    key_policy = json.loads(one(inventory, "aws:kms/key:Key").inputs["policy"])
    role_arn = next(r for r in inventory.of_type("aws:iam/role:Role") if r.name == "control-plane-pipeline-role").state["arn"]
    [reads] = [s for s in key_policy["Statement"] if s["Principal"] == {"AWS": role_arn}]
    assert reads["Action"] == "kms:Decrypt"
    assert reads["Condition"]["StringEquals"]["kms:ViaService"] == f"s3.{REGION}.amazonaws.com"
