"""A real Alertmanager on loopback with the generated config: the same alert from 4 cells pages once, listing them."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from model.contract import IssueType
from observability.alerts import ALERTS, DEPLOYING_ALERT
from observability.prometheus import alertmanager_yaml
from tests.support.tools import system_command

ALERT = ALERTS[IssueType.ERROR_RATE].prometheus_name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Webhook:
    """The pager: a local HTTP receiver that queues every notification Alertmanager sends."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/page"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            return None


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Webhook]]:
    folder = tmp_path_factory.mktemp("alertmanager")
    webhook = Webhook()
    config = folder / "alertmanager.yml"
    config.write_text(alertmanager_yaml(webhook.url, group_wait="1s", group_interval="1m", repeat_interval="1h"),
                      encoding="utf-8")
    port = _free_port()
    process = subprocess.Popen(
        [system_command("prometheus-alertmanager"), f"--config.file={config}", f"--storage.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=(folder / "log.txt").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"alertmanager did not start: {(folder / 'log.txt').read_text()}") from None
                time.sleep(0.2)
        yield url, webhook
    finally:
        process.terminate()
        process.wait(timeout=10)
        webhook.server.shutdown()


def _post(url: str, alerts: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def _alert(name: str, cell: str, service: str, severity: str = "page") -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {"labels": {"alertname": name, "cell_id": cell, "service": service, "severity": severity},
            "annotations": {"summary": f"{name} in {cell}"}, "startsAt": now}


def test_same_alert_from_four_cells_is_one_notification(alertmanager: tuple[str, Webhook]) -> None:
    url, webhook = alertmanager
    cells = ["smb-us-1", "smb-us-2", "smb-eu-1", "smb-ap-1"]
    _post(url, [_alert(ALERT, cell, "sms-service") for cell in cells])
    notification = webhook.next(timeout=20)
    assert notification is not None, "no notification"
    assert notification["groupLabels"] == {"alertname": ALERT, "service": "sms-service"}
    assert sorted(a["labels"]["cell_id"] for a in notification["alerts"]) == sorted(cells)
    assert webhook.next(timeout=3) is None  # one page, not four


def test_a_cell_being_deployed_is_inhibited(alertmanager: tuple[str, Webhook]) -> None:
    url, webhook = alertmanager
    _post(url, [_alert(DEPLOYING_ALERT, "smb-eu-2", "pipeline", severity="info")])
    time.sleep(0.5)
    _post(url, [_alert(ALERT, cell, "voice-service") for cell in ("smb-eu-2", "smb-eu-3")])
    notification = webhook.next(timeout=20)
    assert notification is not None, "no notification"
    assert notification["groupLabels"] == {"alertname": ALERT, "service": "voice-service"}
    assert [a["labels"]["cell_id"] for a in notification["alerts"]] == ["smb-eu-3"]
    assert webhook.next(timeout=3) is None  # the deploy marker itself goes to the silent receiver

