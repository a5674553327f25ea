"""A stand-in for Argo CD's REST API, on loopback, for the Argo CD deployer's tests.

Argo CD cannot run here (it needs a Kubernetes cluster), so this server speaks the part of its
API the deployer uses, with Argo CD's paths, bodies and status fields: `GET` and `PATCH
/api/v1/applications/{name}` and `POST /api/v1/applications/{name}/sync`, bearer-token auth
and the `appNamespace` query. After a sync each Application plays its scenario: `healthy`
(Progressing, then Synced and Healthy), `degraded`, `sync-fails`, `stuck` (never converges),
or `auto` (an automated sync is already running, so the explicit sync is refused as Argo CD
refuses it).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PREFIX = "/api/v1/applications/"
PROGRESS_POLLS = 2  # GETs an Application stays Progressing after a sync


@dataclass
class FakeArgoCd:
    token: str
    namespace: str
    applications: dict[str, dict[str, Any]]
    scenarios: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, application: Mapping[str, Any], scenario: str = "healthy") -> None:
        app = copy.deepcopy(dict(application))
        revision = app["spec"]["source"]["targetRevision"]
        app["status"] = {
            "sync": {"status": "Synced", "revision": "0" * 40,
                     "comparedTo": {"source": copy.deepcopy(app["spec"]["source"]),
                                    "destination": app["spec"]["destination"]}},
            "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded", "message": f"successfully synced (all tasks run) at {revision}"},
        }
        self.applications[app["metadata"]["name"]] = app
        self.scenarios[app["metadata"]["name"]] = scenario

    def _patch(self, app: dict[str, Any], body: dict[str, Any]) -> None:
        assert body["patchType"] == "merge"
        revision = json.loads(body["patch"])["spec"]["source"]["targetRevision"]
        app["spec"]["source"]["targetRevision"] = revision
        app["status"]["sync"]["status"] = "OutOfSync"
        app["status"]["sync"]["comparedTo"]["source"]["targetRevision"] = revision
        if self.scenarios[app["metadata"]["name"]] == "auto":
            self._start(app)

    def _start(self, app: dict[str, Any]) -> None:
        name = app["metadata"]["name"]
        self.polls[name] = 0
        app["status"]["operationState"] = {"phase": "Running", "message": "one or more tasks are running"}
        app["status"]["health"] = {"status": "Progressing", "message": "Waiting for rollout to finish"}

    def _advance(self, app: dict[str, Any]) -> None:
        name = app["metadata"]["name"]
        if name not in self.polls:
            return
        self.polls[name] += 1
        scenario = self.scenarios[name]
        if self.polls[name] < PROGRESS_POLLS or scenario == "stuck":
            return
        revision = app["spec"]["source"]["targetRevision"]
        status = app["status"]
        if scenario == "sync-fails":
            status["operationState"] = {"phase": "Failed", "message": f"ComparisonError: unable to resolve '{revision}'"}
            return
        status["operationState"] = {"phase": "Succeeded", "message": "successfully synced (all tasks run)"}
        status["sync"]["status"] = "Synced"
        status["sync"]["revision"] = hashlib.sha1(revision.encode()).hexdigest()
        if scenario == "degraded":
            status["health"] = {"status": "Degraded", "message": "Deployment \"sms-service\" exceeded its progress deadline"}
        else:
            status["health"] = {"status": "Healthy"}
        del self.polls[name]

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((method, path, body))
            if headers.get("Authorization") != f"Bearer {self.token}":
                return 401, {"error": "invalid session", "code": 16, "message": "invalid session: token is invalid"}
            if not path.startswith(PREFIX):
                return 404, {"error": "Not Found", "code": 5, "message": "Not Found"}
            name, _, action = unquote(path[len(PREFIX):]).partition("/")
            app = self.applications.get(name)
            if app is None or query.get("appNamespace") != [self.namespace]:
                message = f'applications.argoproj.io "{name}" not found'
                return 404, {"error": message, "code": 5, "message": message}
            if method == "GET" and not action:
                self._advance(app)
                return 200, app
            if method == "PATCH" and not action and body is not None:
                self._patch(app, body)
                return 200, app
            if method == "POST" and action == "sync" and body is not None:
                if app["status"]["operationState"].get("phase") == "Running":
                    message = "another operation is already in progress"
                    return 400, {"error": message, "code": 9, "message": message}
                self._start(app)
                return 200, app
            return 405, {"error": "method not allowed", "code": 12, "message": "method not allowed"}


def _handler(fake: FakeArgoCd) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, payload = fake.handle(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve(fake: FakeArgoCd) -> Iterator[str]:
    """Serve `fake` on an ephemeral loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
