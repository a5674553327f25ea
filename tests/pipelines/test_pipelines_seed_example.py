"""The seed's deployment-pipeline example, as our policy, run end to end on moto's execution mode.

canary-us-internal, then smb-us-1/smb-us-2/smb-eu-1 in parallel, then the rest, then
enterprise-us-hipaa behind an approval, with its customer notified.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from moto import mock_aws

from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT
from pipelines.inputs import rollout_input
from tests.support import emulator as em
from tests.support.fleets import wave_plan

EXAMPLE = REPO_ROOT / "pipelines" / "examples" / "seed-deployment-pipeline.yaml"
FAST = {"bake_seconds": 0, "health_check_interval_seconds": 1, "deploy_timeout_seconds": 30}


def test_seed_example_runs_in_its_order(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "pipelines" / "rollout.yaml")
    shutil.copytree(REPO_ROOT / "cells", tmp_path / "cells")
    plan = wave_plan(tmp_path)
    fleet = load_fleet(tmp_path)
    assert [w.cells for w in plan.waves[:2]] == [("canary-us-internal",), ("smb-us-1", "smb-us-2", "smb-eu-1")]
    assert plan.waves[-1].cells == ("enterprise-us-hipaa",)

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        env = em.provision(plan)
        em.register_cells(env, fleet)
        em.create_alarms(env, list(plan.cell_order))
        driver = em.Driver(env, round_size=lambda d: len(plan.wave_of(d["cell_id"]).cells)
                           if plan.wave_of(d["cell_id"]).index == 1 else 1)
        result = driver.run(em.start(env, rollout_input(plan, "2.5.0", FAST)), timeout=120)
        ddb = env.client("dynamodb")
        analysed = {c: [r["M"]["check"]["S"] for r in ddb.get_item(TableName=env.targets.rollout_table, Key={
            "cell_id": {"S": c}})["Item"].get("health_checks", {}).get("L", [])] for c in plan.cell_order}
    assert result["status"] == "SUCCEEDED", result
    # The seed's ValidateCanary and ValidateSMBWave1 checks ran at the end of those bakes (no data: passed).
    assert analysed["canary-us-internal"] == ["error-rate", "p99-latency", "quiet"]
    assert {analysed[c] == ["error-rate", "p99-latency", "customer-complaints"] for c in plan.waves[1].cells} == {True}
    assert analysed["enterprise-us-hipaa"] == []

    deploys = [d["cell_id"] for d in driver.requests("deploy")]
    waves = [plan.wave_of(c).index for c in deploys]
    assert waves == sorted(waves) and sorted(deploys) == sorted(fleet.ids)
    smb1 = set(plan.waves[1].cells)
    asked = [r.at for r in driver.log if r.channel == "deploy" and r.body["cell_id"] in smb1]
    answered = [r.at for r in driver.log if r.channel == "answered" and r.body["cell_id"] in smb1]
    assert len(asked) == 3 and max(asked) < min(answered)  # in parallel
    approvals = [r.body for r in driver.log if r.channel == "approval"]
    assert [(a["kind"], a["cell_id"]) for a in approvals] == [("cell", "enterprise-us-hipaa")]
    [notice] = driver.notifications("customer_notice")
    assert (notice["cell_id"], notice["channel"]) == ("enterprise-us-hipaa", "slack://enterprise-releases")
    assert deploys[-1] == "enterprise-us-hipaa"
