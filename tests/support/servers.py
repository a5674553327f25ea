"""Real servers for the edge tests: a recording HTTP backend and an nginx running a rendered config."""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from landing_zone.lifecycle import EdgePlan
from landing_zone.render_nginx import NginxOptions, render_nginx


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Backend:
    """A stand-in for the cell router: answers 200 with the path it got, and records every request."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@contextmanager
def backend() -> Iterator[Backend]:
    holder: dict[str, Backend] = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            holder["b"].received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            payload = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["b"] = Backend(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["b"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Edge:
    port: int
    keys: tuple[str, ...]  # issued API keys; key i belongs to account `AC<i+1>`
    prefix: Path
    tls: bool = False

    def account(self, key: str) -> str:
        return f"AC{self.keys.index(key) + 1}"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
    return found


@contextmanager
def nginx_edge(plan: EdgePlan, prefix: Path, keys: int = 2, options: NginxOptions | None = None) -> Iterator[Edge]:
    """Run nginx with the rendered config under `prefix` on a loopback port; always stopped on exit.

    `options` default to a plain-HTTP listener; their `listen` is replaced by a free loopback port.
    Key i is issued to account `AC<i+1>` in `api-keys.d/test.map`.
    """
    port = free_port()
    chosen = replace(options or NginxOptions(plain_http=True), listen=f"127.0.0.1:{port}")
    for folder in ("logs", "temp", "api-keys.d"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    issued = tuple(secrets.token_hex(16) for _ in range(keys))
    lines = "".join(f'"{k}" "AC{i}";\n' for i, k in enumerate(issued, start=1))
    (prefix / "api-keys.d" / "test.map").write_text(lines, encoding="utf-8")
    (prefix / "nginx.conf").write_text(render_nginx(plan, chosen), encoding="utf-8")
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-c", "nginx.conf", "-e", "logs/error.log", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"nginx exited with {process.returncode}: {err}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening in 15 s") from None
                time.sleep(0.05)
        yield Edge(port=port, keys=issued, prefix=prefix, tls=not chosen.plain_http)
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr:
            process.stderr.close()
