"""Real TLS on loopback for the edge tests: a test CA (trustme) and an HTTPS stand-in cell with a few behaviours.

The cell answers 200 with the path it got (and records every request); `/redirect` answers 302
to `redirect_to`; `/big` sends `big_size` bytes; `/trickle` sends one byte every 0.2 s for 10 s.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from tests.support.servers import Received


@dataclass(frozen=True)
class Pki:
    """A CA whose file clients trust, and a server certificate for `localhost` it signed."""

    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


def make_pki(folder: Path) -> Pki:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    folder.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(folder / "server.pem"), append=True)
    leaf.private_key_pem.write_to_path(str(folder / "server.key"))
    return Pki(ca, folder / "ca.pem", folder / "server.pem", folder / "server.key")


@dataclass
class TlsCell:
    server: ThreadingHTTPServer
    redirect_to: str = ""
    big_size: int = 0
    received: list[Received] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"


@contextmanager
def tls_cell(pki: Pki) -> Iterator[TlsCell]:
    holder: dict[str, TlsCell] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            cell = holder["c"]
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            cell.received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path.startswith("/redirect"):
                self._send(302, b"", {"location": cell.redirect_to})
            elif self.path.startswith("/big"):
                self._send(200, b"x" * cell.big_size, {"content-type": "text/plain"})
            elif self.path.startswith("/trickle"):
                self.send_response(200)
                self.send_header("content-length", "50")
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                headers = {"content-type": "application/json", "set-cookie": "cell=internal", "server": "cell/1.0"}
                self._send(200, json.dumps({"path": self.path}).encode(), headers)

        def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def handle(self) -> None:
            with contextlib.suppress(ConnectionError, ssl.SSLError):  # the client went away (deadline tests)
                super().handle()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.cert_file), str(pki.key_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    holder["c"] = TlsCell(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["c"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
