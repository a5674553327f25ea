"""Argo CD deployer: a Lambda answering `CellDeployRequested` through Argo CD (beside the CodeBuild one).

EventBridge invokes it with the event; it moves the cell's Application (`<APPLICATION_PREFIX><cell_id>`)
to the release's Git revision (`<REVISION_PREFIX><version>`) with the Argo CD REST API, asks for a
sync, and answers the Step Functions task token: SendTaskSuccess once the Application has compared
against that revision and is `Synced` and `Healthy`; SendTaskFailure when it turns `Degraded`, the
sync fails, Argo CD refuses a call, or WAIT_SECONDS pass.

Runs on the Lambda Python runtime with only the standard library and boto3. Environment:
`ARGOCD_URL` (https; plain http only to a loopback address), `ARGOCD_TOKEN_SECRET_ARN` (a Secrets
Manager secret holding an Argo CD API token), `ARGOCD_APP_NAMESPACE` (default `argocd`),
`APPLICATION_PREFIX` (default `cell-`), `REVISION_PREFIX` (default `release-`), `WAIT_SECONDS`
(default 840), `POLL_SECONDS` (default 10), `REQUEST_TIMEOUT` (default 10).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import boto3

# The fleet model's patterns (model.cells), repeated because runtime code imports nothing of ours;
# tests/gitops checks that the two agree.
CELL_ID = re.compile(r"^[a-z][a-z0-9-]{1,46}[a-z0-9]$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
ACTIONS = frozenset({"deploy", "rollback"})
ALREADY_RUNNING = "another operation is already in progress"
FAILED_PHASES = frozenset({"Failed", "Error"})


class DeployFailed(Exception):
    """The deploy cannot succeed: `error` names why (the task failure's error), `cause` says what happened."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass(frozen=True)
class Settings:
    argocd_url: str
    token_secret_arn: str
    app_namespace: str = "argocd"
    application_prefix: str = "cell-"
    revision_prefix: str = "release-"
    wait_seconds: float = 840.0
    poll_seconds: float = 10.0
    request_timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        url = env["ARGOCD_URL"].rstrip("/")
        parts = urlsplit(url)
        loopback = parts.hostname == "localhost" or _is_loopback(parts.hostname or "")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("ARGOCD_URL must be https (plain http only to a loopback address)")
        return cls(
            argocd_url=url,
            token_secret_arn=env["ARGOCD_TOKEN_SECRET_ARN"],
            app_namespace=env.get("ARGOCD_APP_NAMESPACE", "argocd"),
            application_prefix=env.get("APPLICATION_PREFIX", "cell-"),
            revision_prefix=env.get("REVISION_PREFIX", "release-"),
            wait_seconds=float(env.get("WAIT_SECONDS", "840")),
            poll_seconds=float(env.get("POLL_SECONDS", "10")),
            request_timeout=float(env.get("REQUEST_TIMEOUT", "10")),
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Request:
    """One validated `CellDeployRequested` detail."""

    cell_id: str
    action: str
    version: str
    task_token: str

    @classmethod
    def parse(cls, detail: Any) -> Request:
        if not isinstance(detail, Mapping):
            raise DeployFailed("InvalidRequest", "the event has no detail object")
        problems = []
        cell_id, action, version = detail.get("cell_id"), detail.get("action"), detail.get("version")
        if not isinstance(cell_id, str) or not CELL_ID.match(cell_id):
            problems.append("cell_id is not a cell id")
        if action not in ACTIONS:
            problems.append(f"action must be one of {', '.join(sorted(ACTIONS))}")
        if not isinstance(version, str) or not SEMVER.match(version):
            problems.append("version is not a semantic version")
        if problems:
            raise DeployFailed("InvalidRequest", "; ".join(problems))
        return cls(str(cell_id), str(action), str(version), str(detail["task_token"]))


class ArgoCd:
    """The part of the Argo CD REST API (`/api/v1/applications`) the deployer uses."""

    def __init__(self, settings: Settings, token: str) -> None:
        self.settings = settings
        self._token = token

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        query = urlencode({"appNamespace": self.settings.app_namespace})
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in Settings.from_env
            f"{self.settings.argocd_url}{path}?{query}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json",
                     "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - https only (loopback http for tests), checked in Settings.from_env
                    request, timeout=self.settings.request_timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            message = _message(exc.read())
            raise ArgoCdError(exc.code, message) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeployFailed("ArgoCDUnreachable", f"{method} {path}: {exc}") from None
        return json.loads(payload) if payload else {}

    def application(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/applications/{quote(name, safe='')}")

    def set_revision(self, name: str, revision: str) -> None:
        patch = {"spec": {"source": {"targetRevision": revision}}}
        self._call("PATCH", f"/api/v1/applications/{quote(name, safe='')}", {
            "name": name, "appNamespace": self.settings.app_namespace, "patchType": "merge", "patch": json.dumps(patch),
        })

    def sync(self, name: str, revision: str) -> None:
        """Ask for a sync to `revision`; one already running (automated sync) is as good."""
        try:
            self._call("POST", f"/api/v1/applications/{quote(name, safe='')}/sync", {
                "name": name, "appNamespace": self.settings.app_namespace, "revision": revision, "prune": True,
            })
        except ArgoCdError as exc:
            if ALREADY_RUNNING not in exc.message:
                raise


class ArgoCdError(DeployFailed):
    """Argo CD answered with an HTTP error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__("ArgoCDRequestFailed", f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def _message(payload: bytes) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")[:500]
    return str(data.get("message") or data.get("error") or data)[:500] if isinstance(data, dict) else str(data)[:500]


def verdict(application: Mapping[str, Any], revision: str) -> str | None:
    """`done` when the Application runs `revision` Synced and Healthy; None to keep waiting.

    Raises DeployFailed once it is Degraded or its sync failed, judged only after Argo CD has
    compared the Application against `revision` (an old Degraded state is not this deploy's).
    """
    status = application.get("status") or {}
    sync = status.get("sync") or {}
    compared = ((sync.get("comparedTo") or {}).get("source") or {}).get("targetRevision")
    target = ((application.get("spec") or {}).get("source") or {}).get("targetRevision")
    if target != revision or compared != revision:
        return None
    operation = status.get("operationState") or {}
    if operation.get("phase") in FAILED_PHASES:
        raise DeployFailed("ArgoCDSyncFailed", str(operation.get("message") or operation.get("phase")))
    health = status.get("health") or {}
    if health.get("status") == "Degraded":
        raise DeployFailed("ArgoCDDegraded", str(health.get("message") or "the application is Degraded"))
    if sync.get("status") == "Synced" and health.get("status") == "Healthy" and operation.get("phase") != "Running":
        return "done"
    return None


def deploy(
    request: Request,
    settings: Settings,
    argocd: ArgoCd,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Move the cell's Application to the release and wait; the task output, or DeployFailed."""
    name = f"{settings.application_prefix}{request.cell_id}"
    revision = f"{settings.revision_prefix}{request.version}"
    deadline = clock() + settings.wait_seconds
    argocd.set_revision(name, revision)
    argocd.sync(name, revision)
    while True:
        application = argocd.application(name)
        if verdict(application, revision) == "done":
            return {"cell_id": request.cell_id, "action": request.action, "release": request.version,
                    "application": name, "revision": revision,
                    "synced_revision": ((application.get("status") or {}).get("sync") or {}).get("revision")}
        if clock() + settings.poll_seconds > deadline:
            health = ((application.get("status") or {}).get("health") or {}).get("status")
            raise DeployFailed("ArgoCDTimeout", f"{name} not Synced and Healthy at {revision} within "
                                                f"{settings.wait_seconds:g} s (health: {health})")
        sleep(settings.poll_seconds)


_TOKEN: dict[str, str] = {}


def _token(settings: Settings) -> str:
    """The Argo CD API token from Secrets Manager, read once per container."""
    if settings.token_secret_arn not in _TOKEN:
        secrets = boto3.client("secretsmanager")
        _TOKEN[settings.token_secret_arn] = secrets.get_secret_value(SecretId=settings.token_secret_arn)["SecretString"]
    return _TOKEN[settings.token_secret_arn]


def handler(event: Mapping[str, Any], _context: Any = None) -> dict[str, Any]:
    """EventBridge -> one deploy, answered on the task token (never raises once a token is known)."""
    detail = event.get("detail")
    token = detail.get("task_token") if isinstance(detail, Mapping) else None
    if not isinstance(token, str) or not token:
        return {"answered": False, "error": "InvalidRequest", "cause": "no task_token in the event detail"}
    sfn = boto3.client("stepfunctions")
    try:
        settings = Settings.from_env(os.environ)
        request = Request.parse(detail)
        output = deploy(request, settings, ArgoCd(settings, _token(settings)))
    except DeployFailed as exc:
        sfn.send_task_failure(taskToken=token, error=exc.error, cause=exc.cause[:32768])
        return {"answered": True, "error": exc.error, "cause": exc.cause}
    except (KeyError, ValueError) as exc:
        sfn.send_task_failure(taskToken=token, error="DeployerMisconfigured", cause=str(exc))
        return {"answered": True, "error": "DeployerMisconfigured", "cause": str(exc)}
    sfn.send_task_success(taskToken=token, output=json.dumps(output, sort_keys=True))
    return {"answered": True, **output}
