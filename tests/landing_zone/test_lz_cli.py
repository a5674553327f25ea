"""`fleet gateway`: targets to --out, timeline, usage errors; and the build step."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.build import render_documents
from fleet.cli import app, main
from fleet.inputs import load_inputs, load_routes
from landing_zone.gateway import RENDERERS, render_all
from landing_zone.lifecycle import compile_edge
from tests.landing_zone.lz_support import DAY_DEPRECATED, DAY_SUNSET, REPO, UPSTREAM_RULE

runner = CliRunner()


@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_target_written_to_out(tmp_path: Path, target: str) -> None:
    out = tmp_path / "edge" / target
    args = ["gateway", "--target", target, "--at", "2025-03-01", "--set", "cell_router=http://127.0.0.1:8081", "--out", str(out)]
    result = runner.invoke(app, [*args, "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    plan = compile_edge(load_routes(REPO), DAY_DEPRECATED, {"cell_router": "http://127.0.0.1:8081"})
    _, render = RENDERERS[target]
    assert out.read_text(encoding="utf-8") == render(plan)
    # envoy names the cluster; API Gateway invokes the router Lambda, so the URL only matters elsewhere
    assert "127.0.0.1:8081" in out.read_text(encoding="utf-8") or target in {"envoy", "aws"}


def test_target_to_stdout_is_the_document() -> None:
    result = runner.invoke(app, ["gateway", "--target", "aws", "--at", "2025-07-01", "--root", str(REPO)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["info"]["version"] == "2025-07-01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "haproxy"], "choose one of: aws, envoy, kong, nginx"),
        (["--target", "nginx", "--at", "soon"], "'soon' is not a date like 2025-06-01"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["gateway", *args, "--root", str(REPO)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())


def test_timeline_shows_each_versions_dates() -> None:
    result = runner.invoke(app, ["gateway", "timeline", "--at", DAY_SUNSET.isoformat(), "--root", str(REPO)])
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["/v2/Messages"][1:] == ["sms", "v2", "2024-12-16", "2025-01-15", "-", "-", "active"]
    assert rows["/v1/Calls"][-3:] == ["2026-04-01", "2027-01-01", "deprecated"]
    assert rows["/v0/Messages"][-1] == "sunset"
    assert rows["/v2/Rooms"][-1] == "pending"
    assert len(rows) == len(load_routes(REPO).config.routes)


def test_build_writes_all_four_targets_for_its_day() -> None:
    result = render_documents(load_inputs(REPO), DAY_SUNSET)
    gateway = {k.removeprefix("gateway/"): v for k, v in result.files.items() if k.startswith("gateway/")}
    assert sorted(gateway) == [name for name, _ in sorted(RENDERERS.values())]
    assert gateway == render_all(compile_edge(load_routes(REPO), DAY_SUNSET))
    assert "gateway: edge on 2025-07-01: 8 routed, 1 gone (410), 2 not routed; targets: aws, envoy, kong, nginx" \
        in result.summary


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "router=http://x"], ["--set:1: router: 'router=http://x': expected NAME=URL with NAME one of: cell_router"]),
        (["--set", "cell_router=ftp://x"], [f"--set:1: cell_router: 'ftp://x' {UPSTREAM_RULE}"]),
        (
            ["--set", "cell_router=http://x;}server{listen 9;location /{proxy_pass http://evil;}}"],
            [f"--set:1: cell_router: 'http://x;}}server{{listen 9;location /{{proxy_pass http://evil;}}}}' {UPSTREAM_RULE}"],
        ),
        (
            ["--tls-cert", "cert.pem; include /etc/passwd", "--upstream-ca", "../ca.pem"],
            [
                "--tls-cert:0: path: 'cert.pem; include /etc/passwd' must be letters, digits, . _ - and /, without ..",
                "--upstream-ca:0: path: '../ca.pem' must be letters, digits, . _ - and /, without ..",
            ],
        ),
    ],
)
def test_crafted_values_exit_1_with_one_line_each(
    args: list[str], expected: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["fleet", "gateway", "--target", "nginx", "--at", "2025-03-01", *args, "--root", str(REPO)]
    monkeypatch.setattr(sys, "argv", command)
    with pytest.raises(SystemExit) as exited:
        main()  # the entry point `python -m fleet` runs
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == expected


def test_plain_http_and_tls_files_reach_the_nginx_config(tmp_path: Path) -> None:
    out = tmp_path / "nginx.conf"
    args = ["gateway", "--target", "nginx", "--at", "2025-03-01", "--tls-cert", "/etc/edge/cert.pem", "--out", str(out)]
    assert runner.invoke(app, [*args, "--root", str(REPO)]).exit_code == 0
    tls = out.read_text(encoding="utf-8")
    assert "listen 8443 ssl;" in tls
    assert "ssl_certificate /etc/edge/cert.pem;" in tls
    assert "Strict-Transport-Security" in tls
    assert runner.invoke(app, [*args, "--plain-http", "--listen", "8080", "--root", str(REPO)]).exit_code == 0
    plain = out.read_text(encoding="utf-8")
    assert "listen 8080;" in plain
    assert "ssl_certificate" not in plain
    assert "Strict-Transport-Security" not in plain
    assert "proxy_ssl_verify on;" in plain  # upstreams are verified either way
