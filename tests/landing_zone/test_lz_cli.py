"""`fleet gateway`: targets to --out, timeline, usage errors; and the build step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.build import render_documents
from fleet.cli import app
from fleet.inputs import load_inputs, load_routes
from landing_zone.gateway import RENDERERS, render_all
from landing_zone.lifecycle import compile_edge
from tests.landing_zone.lz_support import DAY_DEPRECATED, DAY_SUNSET, REPO

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
        (["--target", "nginx", "--set", "router=http://x"], "NAME one of: cell_router"),
        (["--target", "nginx", "--set", "cell_router=ftp://x"], "the URL must be http(s) without a path"),
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
