"""Starting a migration's orchestrator execution: its step objects to the plan bucket, then the small input."""

from __future__ import annotations

import json
from typing import Any

from fleet.rollouts import put_checked
from migrations import cellref
from pipelines.asl import JSON


def store_steps(s3: Any, bucket: str, document: JSON) -> JSON:
    """Write the plan document's step objects to `bucket`; return the execution input naming them.

    Each object is sent with its SHA-256 (S3 refuses a body that does not match) and encrypted with
    the bucket's KMS key; the version ids S3 answers pin what the machine reads.
    """
    objects = cellref.step_objects(document)
    versions = [str(put_checked(s3, bucket, obj.key, obj.body, obj.sha256)["VersionId"]) for obj in objects]
    return cellref.execution_input(document, objects, versions)


def start(s3: Any, sfn: Any, bucket: str, document: JSON, state_machine_arn: str, name: str) -> str:
    """Store the step objects, start the orchestrator naming them; return the execution ARN."""
    given = store_steps(s3, bucket, document)
    response = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(given, sort_keys=True))
    return str(response["executionArn"])
