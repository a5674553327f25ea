"""CodeBuild deployer hand-off: a Lambda between `CellDeployRequested` and the reference deployer's build.

EventBridge invokes it with the event. It checks the detail (a cell id by the cell-id pattern
and never a reserved stack, the action, a release by the semver pattern or `declared`, the
rollout and wave names), writes the task token to the Parameter Store SecureString
`<TOKEN_PARAMETER_PREFIX>/<rollout>/<cell>/<action>` encrypted with the control plane's key
(`TOKEN_KEY_ID`), and starts the CodeBuild project `DEPLOYER_PROJECT` with `TASK_TOKEN` as a
PARAMETER_STORE environment override (the value CodeBuild receives, shows and keeps is the
parameter's name; CodeBuild resolves it inside the build and masks it in the build log), the
other fields PLAINTEXT. The build answers the token and deletes the parameter. A refused
request or a build that cannot start is answered here with SendTaskFailure; no build starts.

Why a Lambda rather than the rule's input transformer: EventBridge can only pass the token to
StartBuild as a PLAINTEXT override, readable by anyone with `codebuild:BatchGetBuilds`. Why
not a Step Functions `codebuild:startBuild.sync` task: the pipeline's contract is the
`CellDeployRequested` event answered on its task token, which the Argo CD deployer honours too.

Runs on the Lambda Python runtime with only the standard library and boto3.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# The contract's patterns and names (model.cells, model.contract, pipelines.deployer), repeated
# because runtime code imports nothing of ours; tests/pipelines checks that they agree.
CELL_ID = re.compile(r"^[a-z][a-z0-9-]{1,46}[a-z0-9]$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # rollout (execution) and wave names: safe in a parameter name
RESERVED_STACKS = frozenset({"control-plane", "landing-zone"})
ACTIONS = frozenset({"deploy", "rollback"})
DECLARED = "declared"
NO_RELEASE = "none"
CALLBACK_ENV = "TASK_TOKEN"
CALLBACK_PARAMETER_ENV = "TASK_TOKEN_PARAMETER"
DETAIL_TO_ENV = {
    "cell_id": "CELL_ID",
    "action": "DEPLOY_ACTION",
    "version": "RELEASE",
    "previous_version": "PREVIOUS_RELEASE",
    "wave": "WAVE",
    "rollout": "ROLLOUT",
}


class Refused(Exception):
    """The request is not one the deployer runs: `error` names why, `cause` says what is wrong."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass(frozen=True)
class Settings:
    project: str
    parameter_prefix: str
    key_id: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        prefix = env["TOKEN_PARAMETER_PREFIX"].rstrip("/")
        if not prefix.startswith("/"):
            raise ValueError("TOKEN_PARAMETER_PREFIX must be an absolute parameter path")
        return cls(project=env["DEPLOYER_PROJECT"], parameter_prefix=prefix, key_id=env["TOKEN_KEY_ID"])


def _release(value: Any, *, none_allowed: bool) -> bool:
    allowed = {DECLARED, NO_RELEASE} if none_allowed else {DECLARED}
    return isinstance(value, str) and (value in allowed or SEMVER.match(value) is not None)


def check(detail: Mapping[str, Any]) -> dict[str, str]:
    """The detail's fields the build gets, or Refused listing every problem."""
    cell = detail.get("cell_id")
    problems = []
    if not isinstance(cell, str) or not CELL_ID.match(cell):
        problems.append("cell_id is not a cell id")
    elif cell in RESERVED_STACKS:
        raise Refused("ReservedStack", f"{cell} is a reserved stack, not a cell")
    if detail.get("action") not in ACTIONS:
        problems.append(f"action must be one of {', '.join(sorted(ACTIONS))}")
    if not _release(detail.get("version"), none_allowed=False):
        problems.append(f"version is not a release version or {DECLARED}")
    if not _release(detail.get("previous_version"), none_allowed=True):
        problems.append("previous_version is not a release version")
    for field in ("rollout", "wave"):
        value = detail.get(field)
        if not isinstance(value, str) or not NAME.match(value):
            problems.append(f"{field} is not a name of letters, digits, '-' and '_'")
    if problems:
        raise Refused("InvalidRequest", "; ".join(problems))
    return {field: str(detail[field]) for field in DETAIL_TO_ENV}


def parameter_name(settings: Settings, fields: Mapping[str, str]) -> str:
    return f"{settings.parameter_prefix}/{fields['rollout']}/{fields['cell_id']}/{fields['action']}"


def environment(fields: Mapping[str, str], parameter: str) -> list[dict[str, str]]:
    """The build's environment overrides: the token only by reference to its parameter."""
    return [
        *({"name": env, "value": fields[field], "type": "PLAINTEXT"} for field, env in DETAIL_TO_ENV.items()),
        {"name": CALLBACK_PARAMETER_ENV, "value": parameter, "type": "PLAINTEXT"},
        {"name": CALLBACK_ENV, "value": parameter, "type": "PARAMETER_STORE"},
    ]


def start(settings: Settings, fields: Mapping[str, str], token: str) -> dict[str, str]:
    """Store the token, start the build; on a failed start remove the token again and refuse."""
    ssm, codebuild = boto3.client("ssm"), boto3.client("codebuild")
    parameter = parameter_name(settings, fields)
    try:
        ssm.put_parameter(Name=parameter, Value=token, Type="SecureString", KeyId=settings.key_id,
                          Overwrite=True, Tier="Standard", Description="Step Functions task token of one cell deploy")
    except (ClientError, BotoCoreError) as exc:
        raise Refused("DeployerStartFailed", f"could not store the task token: {_code(exc)}") from None
    try:
        build = codebuild.start_build(projectName=settings.project,
                                      environmentVariablesOverride=environment(fields, parameter))["build"]
    except (ClientError, BotoCoreError) as exc:
        with contextlib.suppress(ClientError, BotoCoreError):  # else it waits for the next deploy to overwrite it
            ssm.delete_parameter(Name=parameter)
        raise Refused("DeployerStartFailed", f"could not start {settings.project}: {_code(exc)}") from None
    return {"build": str(build["id"]), "parameter": parameter}


def _code(exc: Exception) -> str:
    """An AWS error's code, never its request echo (a message may quote the parameters)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def handler(event: Mapping[str, Any], _context: Any = None) -> dict[str, Any]:
    """EventBridge -> one build, or the token answered with failure (never raises once a token is known)."""
    detail = event.get("detail")
    token = detail.get("task_token") if isinstance(detail, Mapping) else None
    if not isinstance(detail, Mapping) or not isinstance(token, str) or not token:
        return {"started": False, "error": "InvalidRequest", "cause": "no task_token in the event detail"}
    try:
        settings = Settings.from_env(os.environ)
        started = start(settings, check(detail), token)
    except Refused as exc:
        error, cause = exc.error, exc.cause
    except (KeyError, ValueError) as exc:
        error, cause = "DeployerMisconfigured", str(exc)
    else:
        return {"started": True, **started}
    try:
        boto3.client("stepfunctions").send_task_failure(taskToken=token, error=error, cause=cause)
    except (ClientError, BotoCoreError) as exc:  # the task timed out or was stopped: nothing waits any more
        return {"started": False, "answered": False, "error": error, "cause": cause, "answer_error": _code(exc)}
    return {"started": False, "answered": True, "error": error, "cause": cause}
