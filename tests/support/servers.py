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


# --- database servers (migrations) -------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    """A throw-away PostgreSQL: libpq connection string (unix socket) and the folder it lives in."""

    dsn: str
    socket_dir: Path
    port: int
    user: str = "postgres"

    def service_file(self, path: Path, services: list[str], dbname: str) -> Path:
        """A `pg_service.conf` naming each service after a cell, as the runbook's `service=<cell>` expects."""
        path.write_text("".join(f"[{s}]\nhost={self.socket_dir}\nport={self.port}\nuser={self.user}\n"
                                f"dbname={dbname}\n\n" for s in services), encoding="utf-8")
        return path


@dataclass(frozen=True)
class MariaDBServer:
    """A throw-away MariaDB: its unix socket, TCP port and an option file for `mysql`/`pt-online-schema-change`."""

    socket: Path
    port: int
    option_file: Path
    user: str = "root"

    def connect_args(self, database: str | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"unix_socket": str(self.socket), "user": self.user, "autocommit": True}
        if database:
            args["database"] = database
        return args


def postgres_binary(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    path = str(found[-1]) if found else shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL {name} is not installed (Debian: apt-get install postgresql)")
    return path


def _as_user(user: str, cmd: list[str]) -> list[str]:
    import os

    return ["runuser", "-u", user, "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server(base: Path) -> Iterator[PostgresServer]:
    """initdb + pg_ctl under `base` on a free port, unix socket only (as `postgres` when run as root)."""
    import os

    os.chmod(base, 0o755)
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_user("postgres", [postgres_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                         "--no-sync"]), check=True, capture_output=True)
    options = f"-k {base} -p {port} -c listen_addresses='' -c fsync=off -c max_connections=50"
    subprocess.run(_as_user("postgres", [postgres_binary("pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                                         str(base / "log"), "start"]), check=True, capture_output=True)
    try:
        yield PostgresServer(f"host={base} port={port} user=postgres dbname=postgres", base, port)
    finally:
        subprocess.run(_as_user("postgres", [postgres_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       check=False, capture_output=True)


def mariadb_binary(name: str) -> str:
    found = shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
                                        if p.exists()), None)
    if found is None:
        raise RuntimeError(f"MariaDB {name} is not installed (Debian: apt-get install mariadb-server)")
    return found


@contextmanager
def mariadb_server(base: Path) -> Iterator[MariaDBServer]:
    """mariadb-install-db + mariadbd under `base`: its own socket and a free loopback port; stopped on exit."""
    import getpass

    data, sock, port = base / "data", base / "mysqld.sock", free_port()
    user = getpass.getuser()
    subprocess.run([mariadb_binary("mariadb-install-db"), "--no-defaults", f"--datadir={data}", f"--user={user}",
                    "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"],
                   check=True, capture_output=True)
    log = (base / "mariadbd.log").open("wb")
    process = subprocess.Popen(
        [mariadb_binary("mariadbd"), "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
         "--bind-address=127.0.0.1", f"--user={user}", f"--pid-file={base / 'mariadbd.pid'}",
         "--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin",
         "--max-connections=100", f"--tmpdir={base}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    option_file = base / "client.cnf"
    option_file.write_text(f"[client]\nsocket={sock}\nuser=root\n", encoding="utf-8")
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() or subprocess.run(
                [mariadb_binary("mariadb-admin"), f"--defaults-extra-file={option_file}", "ping"],
                capture_output=True, check=False).returncode != 0:
            if process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {process.returncode}: "
                                   f"{(base / 'mariadbd.log').read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("mariadbd did not start in 60 s")
            time.sleep(0.1)
        yield MariaDBServer(sock, port, option_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
