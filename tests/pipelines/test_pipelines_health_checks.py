"""The bake's health analysis (issue 12, the seed's ValidateCanary) on moto's execution mode.

The canary wave checks the error rate and p99 latency the cells publish (the metrics their alarms
use), that no alarm fired during the bake (`quiet`), and customer complaints a support tool
publishes (`external`). Metrics and alarm flips happen while the canary bakes, between two
polls; a check over its threshold fails the wave, which rolls the canary back and names check, cell, value and threshold.
moto lacks percentiles and metric math in GetMetricData: `tests.support.moto_health` adds them.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.cli import app
from fleet.inputs import load_fleet
from model.contract import (
    CELL_DIMENSION,
    CELL_KEY,
    ERRORS_METRIC,
    LATENCY_METRIC,
    METRIC_NAMESPACE,
    REQUESTS_METRIC,
    error_rate_alarm,
)
from pipelines.inputs import rollout_input
from pipelines.waves import Plan
from tests.support import emulator as em
from tests.support.fleets import REPO, wave_plan

VERSION = "2.5.0"
# Bake 6 s, polled at 0, 3 and 6 s; the quiet window (3 s) starts at the 3 s poll; the analysis runs at 6 s.
# The test acts between two polls: after health round 0 (before the window) or round 1 (inside it).
FAST = {"bake_seconds": 6, "health_check_interval_seconds": 3, "deploy_timeout_seconds": 30}
COMPLAINTS = ("Support/Complaints", "Complaints")
POLICY = f"""\
waves:
  - name: canary
    select: {{tier: canary}}
    bake: {{min: 30m, max: 30m}}
    health_check_interval: 5m
    checks:
      - {{kind: metric, metric: error-rate, below: 0.1}}
      - {{kind: metric, metric: p99-latency, below: 500}}
      - {{kind: quiet, window: 3s}}
      - {{kind: external, name: complaints, namespace: {COMPLAINTS[0]}, metric: {COMPLAINTS[1]}, below: 3}}
  - name: smb
    select: {{tier: smb}}
    bake: {{min: 1m, max: 1m}}
    health_check_interval: 30s
"""
KEEP = ("canary-us-internal", "smb-us-1")  # a two-cell fleet: each rollout takes seconds


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "rollout.yaml").write_text(POLICY, encoding="utf-8")
    (root / "cells").mkdir()
    for name in ("_defaults", *KEEP):
        shutil.copy(REPO / "cells" / f"{name}.yaml", root / "cells")
    return root


@pytest.fixture(scope="module")
def plan(root: Path) -> Plan:
    return wave_plan(root)


@pytest.fixture
def env(plan: Plan, root: Path) -> Iterator[em.Emulated]:
    with em.emulated_fleet(plan, load_fleet(root)) as emulated:
        yield emulated


def _publish(env: em.Emulated, cell: str, namespace: str, metric: str, values: list[float], unit: str = "Count") -> None:
    env.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": metric, "Dimensions": [{"Name": CELL_DIMENSION, "Value": cell}], "Value": v, "Unit": unit,
         "Timestamp": datetime.now(UTC)} for v in values])


def _traffic(env: em.Emulated, cell: str, *, errors: float, latency_ms: float) -> None:
    """100 requests of the cell during the bake: `errors` of them failed, p99 latency `latency_ms`."""
    _publish(env, cell, METRIC_NAMESPACE, REQUESTS_METRIC, [100])
    _publish(env, cell, METRIC_NAMESPACE, ERRORS_METRIC, [errors])
    _publish(env, cell, METRIC_NAMESPACE, LATENCY_METRIC, [latency_ms / 2] * 98 + [latency_ms] * 2, "Milliseconds")


def _after_round(env: em.Emulated, name: str, act: Callable[[], None]) -> None:
    """Run `act` as soon as the canary's health-round execution `name` has succeeded (polled, in a thread)."""
    sfn = env.client("stepfunctions")
    arn = env.machines["batch"].replace(":stateMachine:", ":execution:") + f":{name}"

    def wait() -> None:
        for _ in range(600):
            try:
                if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                    act()
                    return
            except sfn.exceptions.ExecutionDoesNotExist:
                pass
            except Exception:  # the test (and moto with it) ended before the round ran
                return
            threading.Event().wait(0.05)

    threading.Thread(target=wait, daemon=True).start()


def _run(env: em.Emulated, plan: Plan, during_bake: Callable[[str], None], after_round: int = 0,
         ) -> tuple[dict[str, Any], em.Driver]:
    """Run the rollout; `during_bake(cell)` runs right after the canary's health round `after_round`."""
    [canary] = plan.waves[0].cells
    _after_round(env, f"r1-w0-h{after_round}-0-0", lambda: during_bake(canary))
    driver = em.Driver(env)
    return driver.run(em.start(env, rollout_input(plan, VERSION, FAST)), timeout=90), driver


def _flap(env: em.Emulated, cell: str) -> None:
    """The cell's error-rate alarm fires and clears between two polls: the alarm poll never sees it."""
    cw = env.client("cloudwatch")
    cw.set_alarm_state(AlarmName=error_rate_alarm(cell), StateValue="ALARM", StateReason="spike")
    cw.set_alarm_state(AlarmName=error_rate_alarm(cell), StateValue="OK", StateReason="recovered")


def _recorded(env: em.Emulated, cell: str) -> dict[str, dict[str, Any]]:
    """The analysis recorded on the cell's rollout-state item: check -> {value, threshold, passed}."""
    item = env.client("dynamodb").get_item(TableName=env.targets.rollout_table, Key={CELL_KEY: {"S": cell}})["Item"]
    assert item["health_wave"]["S"] == "canary"
    return {r["M"]["check"]["S"]: {"value": r["M"]["value"]["S"], "threshold": r["M"]["threshold"]["S"],
                                   "passed": r["M"]["passed"]["BOOL"]} for r in item["health_checks"]["L"]}


def test_below_every_threshold_the_wave_passes_and_the_analysis_is_recorded(env: em.Emulated, plan: Plan) -> None:
    def healthy(cell: str) -> None:
        _traffic(env, cell, errors=0.05, latency_ms=420)  # 0.05 % errors, p99 420 ms
        _publish(env, cell, *COMPLAINTS, [1, 1])
        _flap(env, cell)  # during the bake, but before the quiet window (its last 3 s) began

    result, _ = _run(env, plan, healthy)
    assert result["status"] == "SUCCEEDED", result
    [canary] = plan.waves[0].cells
    assert _recorded(env, canary) == {
        "error-rate": {"value": "0.05 %", "threshold": "below 0.1 %", "passed": True},
        "p99-latency": {"value": "420.0 ms", "threshold": "below 500 ms", "passed": True},
        "quiet": {"value": "0 alarms []", "threshold": "below 1 alarms", "passed": True},
        "complaints": {"value": "2.0 ", "threshold": "below 3 ", "passed": True},
    }
    assert em.rollout_state(env)[canary]["deployed_version"] == VERSION


def test_an_error_rate_over_the_threshold_fails_the_wave_and_rolls_back(env: em.Emulated, plan: Plan) -> None:
    [canary] = plan.waves[0].cells
    result, driver = _run(env, plan, lambda cell: _traffic(env, cell, errors=2.5, latency_ms=120))
    assert (result["status"], result["error"]) == ("FAILED", "HealthCheckFailed")
    assert result["cause"] == (f"cell {canary}: health check failed during bake of {VERSION}: "
                               "error-rate = 2.5 % (threshold: below 0.1 %)")
    assert [d["cell_id"] for d in driver.requests("rollback")] == [canary]
    assert em.rollout_state(env)[canary]["status"] == "rolled_back"
    assert not [d for d in driver.requests("deploy") if d["cell_id"] not in plan.waves[0].cells]  # the rest never deployed
    recorded = _recorded(env, canary)
    assert recorded["error-rate"] == {"value": "2.5 %", "threshold": "below 0.1 %", "passed": False}
    assert recorded["p99-latency"]["passed"] is True
    # `fleet rollout watch` shows the analysis: check, cell, value vs threshold, verdict
    watched = CliRunner().invoke(app, ["rollout", "watch", result["executionArn"], "--once"], catch_exceptions=False)
    assert watched.exit_code == 3
    shown = " ".join(watched.stderr.split())  # unwrapped
    assert "canary canary-us-internal error-rate: 2.5 % (below 0.1 %) FAIL" in shown
    assert "canary canary-us-internal p99-latency: 120.0 ms (below 500 ms) pass" in shown


def test_an_alarm_that_fired_and_cleared_during_the_bake_fails_the_quiet_check(env: em.Emulated, plan: Plan) -> None:
    [canary] = plan.waves[0].cells

    result, driver = _run(env, plan, lambda cell: _flap(env, cell), after_round=1)  # inside the last 3 s
    assert (result["status"], result["error"]) == ("FAILED", "HealthCheckFailed")
    assert result["cause"] == (f"cell {canary}: health check failed during bake of {VERSION}: "
                               f'quiet = 1 alarms ["{error_rate_alarm(canary)}"] (threshold: below 1 alarms)')
    assert [d["cell_id"] for d in driver.requests("rollback")] == [canary]


def test_customer_complaints_over_the_threshold_fail_the_external_check(env: em.Emulated, plan: Plan) -> None:
    [canary] = plan.waves[0].cells
    result, _ = _run(env, plan, lambda cell: _publish(env, cell, *COMPLAINTS, [2, 2]))
    assert (result["status"], result["error"]) == ("FAILED", "HealthCheckFailed")
    assert result["cause"] == (f"cell {canary}: health check failed during bake of {VERSION}: "
                               "complaints = 4.0  (threshold: below 3 )")
    assert _recorded(env, canary)["complaints"] == {"value": "4.0 ", "threshold": "below 3 ", "passed": False}
    assert em.rollout_state(env)[canary]["status"] == "rolled_back"
