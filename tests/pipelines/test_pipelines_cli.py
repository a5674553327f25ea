"""`fleet plan`, `fleet pipeline` and `fleet rollout start|watch|approve|reject` (the latter on moto)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from fleet.cli import app
from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT
from model.errors import InputErrors
from tests.support import emulator as em
from tests.support.fleets import wave_plan

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_plan_formats() -> None:
    table = invoke("plan", "--root", str(REPO_ROOT))
    assert table.exit_code == 0
    assert "enterprise" in table.stdout
    assert "done latest" in table.stdout
    document = json.loads(invoke("plan", "--format", "json").stdout)
    assert [w["name"] for w in document["waves"]] == ["canary", "smb-wave-1", "smb-wave-2", "enterprise"]
    assert document["waves"][-1]["latest_end"] == "3d14h30m"
    mermaid = invoke("plan", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR")
    assert "w3" in mermaid


def test_plan_reports_policy_errors_with_location(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "cells", tmp_path / "cells")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "rollout.yaml").write_text(
        "waves:\n  - name: smb\n    select: {tier: smb}\n    bake: {min: 1h, max: 2h}\n", encoding="utf-8")
    with pytest.raises(InputErrors) as caught:  # fleet.cli.main prints these one per line, exit 1
        invoke("plan", "--root", str(tmp_path))
    lines = [str(e) for e in caught.value.errors]
    assert "pipelines/rollout.yaml:3: waves[0].select: the first wave must deploy the canary cell(s)" in lines
    assert any(line.startswith("pipelines/rollout.yaml:1: waves: cells in no wave: canary-us-internal") for line in lines)


def test_pipeline_writes_definitions_policy_and_plan(tmp_path: Path) -> None:
    result = invoke("pipeline", "--out", str(tmp_path), "--region", "eu-west-1", "--account", "210987654321")
    assert result.exit_code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["batch.asl.json", "iam-policy.json", "plan.json", "plan.mmd", "rollout.asl.json", "wave.asl.json"]
    rollout = json.loads((tmp_path / "rollout.asl.json").read_text())
    assert "arn:aws:states:eu-west-1:210987654321:stateMachine:cellfleet-wave" in json.dumps(rollout)


def test_rollout_start_approve_reject_watch_on_moto() -> None:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    fleet = load_fleet(REPO_ROOT)
    plan = wave_plan(REPO_ROOT)
    enterprise = plan.waves[-1].cells
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        env = em.provision(plan)
        em.register_cells(env, fleet)
        em.create_alarms(env, list(fleet.ids))

        started = invoke("rollout", "start", "--version", "2.5.0", "--state-machine-arn", env.machines["rollout"],
                         "--name", "cli-test", "--set", "bake_seconds=0", "--set", "health_check_interval_seconds=1",
                         "--ignore-maintenance-windows")  # the sample's windows open days from now
        assert started.exit_code == 0, started.output
        arn = started.stdout.strip()
        assert arn.endswith(":execution:cellfleet-rollout:cli-test")

        answered: list[str] = []

        def on_approval(message: dict[str, Any]) -> em.Answer:
            cell = message["cell_id"]
            if cell == enterprise[0]:
                result = invoke("rollout", "approve", message["task_token"])
            else:
                result = invoke("rollout", "reject", message["task_token"], "--reason", "change freeze")
            assert result.exit_code == 0, result.output
            answered.append(cell)
            return None  # answered through the CLI

        described = em.Driver(env, on_approval=on_approval).run(arn, timeout=90)
        assert answered == list(enterprise[:2])
        assert described["status"] == "FAILED"
        assert described["error"] == "ApprovalRejected"
        assert described["cause"] == f"cell {enterprise[1]}: approval rejected: change freeze"

        watched = invoke("rollout", "watch", arn, "--once")
        assert watched.exit_code == 3  # the rollout failed
        shown = watched.stderr if hasattr(watched, "stderr") else watched.output
        for wave in plan.waves:
            assert wave.name in shown
        assert f"{enterprise[0]}:rolled_back" in shown
        assert "SUCCEEDED" in shown
        assert "FAILED" in shown


def test_pipeline_refuses_failure_tolerance_it_cannot_honour(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "cells", tmp_path / "cells")
    (tmp_path / "pipelines").mkdir()
    policy = (REPO_ROOT / "pipelines" / "rollout.yaml").read_text(encoding="utf-8")
    policy = policy.replace("    max_concurrency: 25\n", "    max_concurrency: 25\n    failure_tolerance: 2\n")
    (tmp_path / "pipelines" / "rollout.yaml").write_text(policy, encoding="utf-8")
    line = policy.splitlines().index("    failure_tolerance: 2") + 1
    with pytest.raises(InputErrors) as caught:
        invoke("pipeline", "--root", str(tmp_path))
    assert [str(e) for e in caught.value.errors] == [
        f"pipelines/rollout.yaml:{line}: waves[2].failure_tolerance: "
        "the pipeline rolls back on the first failure; only 0 is supported"
    ]


def test_rollout_commands_report_aws_errors_without_traceback() -> None:
    with mock_aws(config=em.EXECUTE):
        result = invoke("rollout", "approve", "no-such-token")
    assert result.exit_code == 1
    assert "error:" in result.output
    assert "Traceback" not in result.output
