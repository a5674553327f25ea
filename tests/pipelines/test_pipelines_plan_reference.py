"""The plan travels by reference (issue 18): S3 objects per wave, a small input, quotas checked before AWS.

The rollout runs on moto's execution mode (its Distributed Map reads the wave objects with an
S3 ItemReader); the quota refusal runs `fleet rollout start` with every boto3 client forbidden.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from fleet.cli import app
from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT
from fleet.rollouts import load_plan_document, store_plan
from model.jsonio import compact
from pipelines import planref, quotas
from pipelines.inputs import INPUT_QUOTA, rollout_input
from pipelines.waves import Plan
from pipelines.windows import Opening
from tests.support import emulator as em
from tests.support.fleets import wave_plan
from tests.support.synthetic import synthetic_fleet, synthetic_plan

VERSION = "2.5.0"
FAST = {"bake_seconds": 0, "health_check_interval_seconds": 1, "deploy_timeout_seconds": 30}
PLAN = wave_plan(REPO_ROOT)


@pytest.fixture
def env() -> Iterator[em.Emulated]:
    with em.emulated_fleet(PLAN, load_fleet(REPO_ROOT)) as emulated:
        yield emulated


def test_the_input_names_the_stored_plan_and_reads_back_the_same(env: em.Emulated) -> None:
    document = rollout_input(PLAN, VERSION, FAST)
    s3 = env.client("s3")
    started = store_plan(s3, env.targets.plan_bucket, document)
    assert set(started) == {"version", "settings", "plan"}
    assert started["plan"]["digest"] == planref.plan_digest(document)
    assert [w["name"] for w in started["plan"]["waves"]] == [w.name for w in PLAN.waves]
    for wave in started["plan"]["waves"]:
        head = s3.head_object(Bucket=env.targets.plan_bucket, Key=wave["key"], VersionId=wave["version_id"],
                              ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == wave["sha256"]
        assert head["ETag"] == wave["etag"]
    assert load_plan_document(s3, started["plan"], VERSION, FAST) == document


def test_the_machine_reads_the_pinned_version_not_a_later_overwrite(env: em.Emulated) -> None:
    document = rollout_input(PLAN, VERSION, FAST)
    started = store_plan(env.client("s3"), env.targets.plan_bucket, document)
    canary = started["plan"]["waves"][0]
    # Someone overwrites the canary wave's key after the start: a batch of `control-plane`.
    env.client("s3").put_object(Bucket=env.targets.plan_bucket, Key=canary["key"],
                                Body=compact([{"batches": [["control-plane"]], "openings": []}]).encode())
    driver = em.Driver(env)
    result = driver.run(em.start(env, started), timeout=120)
    assert result["status"] == "SUCCEEDED", result
    deployed = [d["cell_id"] for d in driver.requests("deploy")]
    assert sorted(deployed) == sorted(PLAN.cell_order)
    assert "control-plane" not in deployed


def test_an_unreadable_plan_object_fails_before_any_deploy(env: em.Emulated) -> None:
    started = store_plan(env.client("s3"), env.targets.plan_bucket, rollout_input(PLAN, VERSION, FAST))
    started["plan"]["waves"][0]["version_id"] = "no-such-version"
    driver = em.Driver(env)
    result = driver.run(em.start(env, started), timeout=60)
    assert (result["status"], result["error"]) == ("FAILED", "PlanUnreadable"), result
    assert result["cause"].startswith("wave canary: the plan object cannot be read")
    assert driver.requests("deploy") == []


def all_windowed(plan: Plan) -> dict[str, list[Opening]]:
    """Four openings for every cell: what `rollout start` computes when every cell has a window."""
    from datetime import UTC, datetime, timedelta

    from pipelines.windows import openings

    at = datetime(2026, 12, 2, tzinfo=UTC)
    return {c: openings("sun:03:00-sun:05:00", at, timedelta(hours=1)) for c in plan.cell_order}


def test_quotas_measure_the_input_as_the_reference_and_refuse_a_bake_too_long_for_one_history() -> None:
    plan = synthetic_plan(synthetic_fleet(1200))  # 808 SMB cells in smb-wave-2
    fits = rollout_input(plan, VERSION)
    figures = {f.name: f for f in quotas.measure(plan, fits)}
    assert figures["execution input"].value < 2048 < INPUT_QUOTA  # a reference: four waves, not 1,000 cells
    assert quotas.check(plan, fits) == []

    # Every cell windowed: the largest state is one chunk of the plan object, whatever the wave's size.
    larger = synthetic_plan(synthetic_fleet(5000))
    states = [quotas.measure(p, rollout_input(p, VERSION, openings=all_windowed(p)))[2] for p in (plan, larger)]
    assert [s.where for s in states] == ["wave smb-wave-2, one chunk"] * 2
    assert states[0].value == states[1].value < quotas.STATE_QUOTA // 2
    chunk = planref.wave_items(rollout_input(plan, VERSION, openings=all_windowed(plan))["waves"][2])[0]
    assert states[0].value > len(compact(chunk).encode())  # the item as its child execution holds it

    # A day's bake polled every second: 86,401 bake rounds cannot fit in one wave execution's history.
    problems = quotas.check(plan, rollout_input(plan, VERSION, {"bake_seconds": 86_400,
                                                                "health_check_interval_seconds": 1}))
    assert len(problems) == 1, problems
    assert problems[0].startswith("history events: ")
    assert "in the wave canary exceeds Step Functions' limit of 25,000 events (a longer health_check_interval" in problems[0]


def test_rollout_start_refuses_an_oversized_plan_before_calling_aws(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet.commands import rollout as command

    # In memory: 1,000 cell files take a minute to load.
    fleet = synthetic_fleet(1000)
    monkeypatch.setattr(command, "load_fleet", lambda root: fleet)
    monkeypatch.setattr(command, "load_plan", lambda root, f: (None, synthetic_plan(f)))
    calls: list[Any] = []

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        raise AssertionError("AWS called")

    monkeypatch.setattr(boto3, "client", forbidden)
    monkeypatch.setattr(boto3.session.Session, "client", forbidden)
    result = CliRunner().invoke(app, ["rollout", "start", "--version", VERSION, "--root", str(tmp_path),
                                      "--set", "bake_seconds=86400", "--set", "health_check_interval_seconds=1",
                                      "--state-machine-arn",
                                      "arn:aws:states:us-east-1:123456789012:stateMachine:cellfleet-rollout"])
    assert result.exit_code == 1, result.output
    assert calls == []
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: history events: ")
    assert "exceeds Step Functions' limit of 25,000 events (a longer health_check_interval" in lines[0]
    assert "Traceback" not in result.output


def test_the_reference_does_not_grow_with_the_cells() -> None:
    small = synthetic_plan(synthetic_fleet(100))
    large = synthetic_plan(synthetic_fleet(2000))
    sizes = [quotas.measure(p, rollout_input(p, VERSION))[1].value for p in (small, large)]
    assert sizes[0] == sizes[1]
    assert json.loads(compact(rollout_input(large, VERSION)))["waves"]  # the plan itself does grow


def test_quotas_refuse_a_rollout_that_would_run_past_a_year() -> None:
    """400 enterprise cells one at a time, each with its 24 h bake: past a Standard execution's year."""
    fits = synthetic_plan(synthetic_fleet(3000))  # 300 enterprise cells: about 304 days
    assert quotas.check(fits, rollout_input(fits, VERSION)) == []
    plan = synthetic_plan(synthetic_fleet(4000))
    figure = quotas.measure(plan, rollout_input(plan, VERSION))[-1]
    assert (figure.name, figure.unit, figure.limit) == ("execution duration", "days", 365)
    assert 400 < figure.value < 420, figure
    problems = quotas.check(plan, rollout_input(plan, VERSION))
    assert problems == [f"execution duration: {figure.value:,} days in the rollout (longest wave enterprise: 400 cells "
                        "one at a time, each deploy then its bake) exceeds Step Functions' limit of 365 days (split "
                        "the wave over several rollouts, or a shorter bake)"]
    # A shorter bake, set at start, brings it back under the year.
    assert quotas.check(plan, rollout_input(plan, VERSION, {"bake_seconds": 3600})) == []
