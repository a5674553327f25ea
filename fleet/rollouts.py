"""Operator actions on a running rollout, with boto3: start, progress, approve, reject."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from model.cells import Fleet
from model.contract import CELL_KEY, DEFAULT_PREFIX, RolloutStatus, wave_execution_name
from pipelines import planref, quotas
from pipelines.health_checks import RESULTS_ATTRIBUTE, WAVE_ATTRIBUTE
from pipelines.inputs import rollout_input
from pipelines.targets import Targets
from pipelines.waves import Plan
from pipelines.windows import Opening, openings

# Child executions append up to 16 characters (`-w3-h48-26`) to the rollout's name; AWS allows 80.
MAX_NAME = 64
NAME_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")


def execution_name(version: str, at: datetime | None = None) -> str:
    """`2.5.0` at 2026-11-26 17:28:00 UTC -> `v2-5-0-20261126T172800Z` (unique, short enough for children)."""
    stamp = (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"v{re.sub(r'[^A-Za-z0-9_-]', '-', version)}-{stamp}"[-MAX_NAME:]


def check_name(name: str) -> str | None:
    """Why `name` cannot name a rollout execution, or None."""
    if len(name) > MAX_NAME:
        return f"at most {MAX_NAME} characters (child executions add suffixes; AWS allows 80)"
    if not NAME_CHARS.match(name):
        return "only letters, digits, '-' and '_'"
    return None


def window_openings(fleet: Fleet, plan: Plan, at: datetime) -> dict[str, list[Opening]]:
    """Each windowed cell's next maintenance-window openings after `at` (the clock is read by the caller)."""
    estimate = plan.policy.deploy_estimate
    return {cell.id: openings(cell.maintenance_window, at, estimate)
            for cell in fleet.cells if cell.maintenance_window is not None}


class PlanNotStored(RuntimeError):
    """S3 did not store a plan object as written (its checksum differs)."""


def store_plan(s3: Any, bucket: str, document: dict[str, Any]) -> dict[str, Any]:
    """Write the plan document's wave objects to `bucket` and return the execution input naming them.

    Each object is sent with its SHA-256 (S3 refuses a body that does not match) and encrypted with
    the bucket's KMS key; the returned version ids pin what the machines read.
    """
    objects = planref.plan_objects(document)
    stored = []
    for obj in objects:
        response = put_checked(s3, bucket, obj.key, obj.body, obj.sha256)
        stored.append(planref.Stored(str(response["VersionId"]), str(response["ETag"])))
    return planref.execution_input(document, bucket, objects, stored)


def put_checked(s3: Any, bucket: str, key: str, body: bytes, sha256: str) -> dict[str, Any]:
    """Put one plan object, KMS-encrypted, sent with its SHA-256; S3's answer, or PlanNotStored.

    S3 refuses a body that does not match the checksum; a missing version id means versioning is
    off, and then nothing could pin what the machines read.
    """
    response: dict[str, Any] = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json",
                                             ChecksumAlgorithm="SHA256", ChecksumSHA256=sha256,
                                             ServerSideEncryption="aws:kms")
    if response.get("ChecksumSHA256") != sha256 or not response.get("VersionId"):
        raise PlanNotStored(f"{key}: S3 answered checksum {response.get('ChecksumSHA256')!r}, "
                            f"version {response.get('VersionId')!r} (is versioning on?)")
    return response


def load_plan_document(s3: Any, reference: dict[str, Any], version: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The plan document an execution input names, read back at the versions it pins."""
    waves = []
    for wave in reference["waves"]:
        body = s3.get_object(Bucket=reference["bucket"], Key=wave["key"], VersionId=wave["version_id"])["Body"].read()
        waves.append(planref.wave_from_items(wave["name"], json.loads(body)))
    return {"version": version, "settings": settings, "waves": waves}


def plan_document(plan: Plan, version: str, overrides: dict[str, Any] | None = None,
                  windows: dict[str, list[Opening]] | None = None) -> dict[str, Any]:
    """The plan document of a rollout, checked against every Step Functions quota (`pipelines.quotas`).

    Raises `QuotaExceeded` for a plan that would exceed one; nothing here calls AWS.
    """
    document = rollout_input(plan, version, overrides, openings=windows)
    problems = quotas.check(plan, document)
    if problems:
        raise quotas.QuotaExceeded(problems)
    return document


def start(document: dict[str, Any], state_machine_arn: str, *, region: str, name: str | None = None) -> str:
    """Store the plan document in the plan bucket, start the rollout machine naming it; return the execution ARN."""
    machine_region, account, _ = parse_machine_arn(state_machine_arn)
    bucket = Targets(region=machine_region, account=account).plan_bucket
    execution = store_plan(boto3.client("s3", region_name=region), bucket, document)
    sfn = boto3.client("stepfunctions", region_name=region)
    response = sfn.start_execution(stateMachineArn=state_machine_arn, name=name or execution_name(document["version"]),
                                   input=json.dumps(execution, sort_keys=True))
    return str(response["executionArn"])


def caller(region: str) -> str:
    """Who is calling: the ARN of the authenticated AWS identity (STS), never a name the user types."""
    return str(boto3.client("sts", region_name=region).get_caller_identity()["Arn"])


def approve(token: str, *, region: str, at: datetime | None = None) -> dict[str, str]:
    """Approve with the caller's identity and the time; return what was recorded in the task output."""
    approval = {"approved_by": caller(region),
                "approved_at": (at or datetime.now(UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z")}
    sfn = boto3.client("stepfunctions", region_name=region)
    sfn.send_task_success(taskToken=token, output=json.dumps(approval, sort_keys=True))
    return approval


def reject(token: str, reason: str, *, region: str) -> None:
    sfn = boto3.client("stepfunctions", region_name=region)
    sfn.send_task_failure(taskToken=token, error="Rejected", cause=reason)


@dataclass(frozen=True)
class CheckResult:
    """One bake check of one cell, as the pipeline recorded it (`pipelines.health_checks`)."""

    cell: str
    check: str
    value: str
    threshold: str
    passed: bool


@dataclass
class WaveProgress:
    name: str
    status: str  # PENDING | RUNNING | SUCCEEDED | FAILED | ...
    cells: dict[str, str] = field(default_factory=dict)  # cell id -> rollout status in this rollout
    checks: list[CheckResult] = field(default_factory=list)  # the bake's analysis, cell by cell


@dataclass
class Progress:
    execution: str
    name: str
    status: str
    version: str
    waves: list[WaveProgress]
    error: str | None = None
    cause: str | None = None

    @property
    def done(self) -> bool:
        return self.status != "RUNNING"


def parse_execution_arn(arn: str) -> tuple[str, str, str, str]:
    """`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME` -> (region, account, machine, name)."""
    parts = arn.split(":")
    if len(parts) != 8 or parts[2] != "states" or parts[5] != "execution":
        raise ValueError(f"{arn[:120]!r} is not a Step Functions execution ARN")
    return parts[3], parts[4], parts[6], parts[7]


def parse_machine_arn(arn: str) -> tuple[str, str, str]:
    """`arn:aws:states:REGION:ACCOUNT:stateMachine:NAME` -> (region, account, name)."""
    parts = arn.split(":")
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "stateMachine" or not parts[6]:
        raise ValueError(f"{arn[:120]!r} is not a Step Functions state machine ARN")
    return parts[3], parts[4], parts[6]


def progress(execution_arn: str, rollout_table: str, prefix: str = DEFAULT_PREFIX) -> Progress:
    """Where a rollout is: the rollout's status, each wave execution's, each cell's rollout state."""
    region, account, _, name = parse_execution_arn(execution_arn)
    sfn = boto3.client("stepfunctions", region_name=region)
    ddb = boto3.client("dynamodb", region_name=region)
    described = sfn.describe_execution(executionArn=execution_arn)
    started = json.loads(described["input"])
    document = load_plan_document(boto3.client("s3", region_name=region), started["plan"], started["version"],
                                  started.get("settings", {}))
    targets = Targets(region=region, account=account, prefix=prefix)
    wave_machine = targets.machine_arn("wave").replace(":stateMachine:", ":execution:")
    waves = []
    for i, wave in enumerate(document["waves"]):
        try:
            status = sfn.describe_execution(executionArn=f"{wave_machine}:{wave_execution_name(name, i)}")["status"]
        except sfn.exceptions.ExecutionDoesNotExist:
            status = "PENDING"
        cells = [c for batch in wave["batches"] for c in batch]
        items = _items(ddb, rollout_table, cells, name)
        waves.append(WaveProgress(wave["name"], status, _cell_status(items, cells),
                                  [r for c in cells for r in _check_results(items.get(c), wave["name"])]))
    return Progress(execution_arn, name, described["status"], document["version"], waves,
                    described.get("error"), described.get("cause"))


def _items(ddb: Any, table: str, cells: list[str], rollout: str) -> dict[str, dict[str, Any]]:
    """The rollout-state items of `cells` that this rollout wrote, by cell id."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(cells), 100):
        keys = [{CELL_KEY: {"S": c}} for c in cells[start:start + 100]]
        response = ddb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
        for item in response["Responses"].get(table, []):
            if item.get("rollout_id", {}).get("S") == rollout:
                out[item[CELL_KEY]["S"]] = item
    return out


def _cell_status(items: dict[str, dict[str, Any]], cells: list[str]) -> dict[str, str]:
    out = dict.fromkeys(cells, RolloutStatus.PENDING.value)
    for cell, item in items.items():
        out[cell] = item.get("status", {}).get("S", "unknown")
    return out


def _check_results(item: dict[str, Any] | None, wave: str) -> list[CheckResult]:
    """The cell's recorded analysis when it was made in `wave` (DynamoDB typed JSON)."""
    if item is None or item.get(WAVE_ATTRIBUTE, {}).get("S") != wave:
        return []
    return [CheckResult(item[CELL_KEY]["S"], r["M"]["check"]["S"], r["M"]["value"]["S"], r["M"]["threshold"]["S"],
                        r["M"]["passed"]["BOOL"]) for r in item.get(RESULTS_ATTRIBUTE, {}).get("L", [])]
