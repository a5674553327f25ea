"""The execution input cannot loosen the policy (issue 10, approval bypass), on moto's execution mode.

An operator (or anyone allowed to StartExecution) writes the rollout input. Only the documented
timings may come from it: `settings.approval=false` (and its siblings) leave the enterprise
approvals and customer notices in place, and a batch naming a stack that is not one of the
plan's cells for that wave (`control-plane`, a cell of a later wave) is refused before any deploy.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from fleet.options import REPO_ROOT
from pipelines.inputs import rollout_input
from pipelines.waves import Plan
from tests.support import emulator as em
from tests.support import fleets
from tests.support.fleets import policy_plan

VERSION = "2.5.0"
FAST = fleets.FAST_SETTINGS
POLICY = fleets.rollout_policy(fleets.CANARY_WAVE, fleets.SMB_WAVE, fleets.enterprise_wave())


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return policy_plan(tmp_path_factory.mktemp("fleet"), POLICY)


@pytest.fixture
def env(plan: Plan) -> Iterator[em.Emulated]:
    from fleet.inputs import load_fleet

    with em.emulated_fleet(plan, load_fleet(REPO_ROOT)) as emulated:
        yield emulated


def test_settings_in_the_input_cannot_switch_off_approval_or_notices(env: em.Emulated, plan: Plan) -> None:
    document = rollout_input(plan, VERSION, FAST)
    document["settings"] |= {"approval": False, "notify_customers": False, "one_at_a_time": False,
                             "max_concurrency": 1000, "channels": ["slack://attacker"]}
    driver = em.Driver(env)
    result = driver.run(em.start(env, document), timeout=90)
    assert result["status"] == "SUCCEEDED", result

    enterprise = plan.waves[-1]
    approvals = [r.body for r in driver.log if r.channel == "approval"]
    assert [(a["kind"], a["cell_id"]) for a in approvals] == [("cell", c) for c in enterprise.cells]
    notices = driver.notifications("customer_notice")
    assert sorted(n["cell_id"] for n in notices) == sorted(enterprise.cells)
    assert {tuple(n["channels"]) for n in notices} == {("slack://enterprise-releases",)}
    # Still one at a time: each enterprise deploy is requested only after the previous was answered.
    order = [(r.channel, r.body["cell_id"]) for r in driver.log
             if r.channel in {"deploy", "answered"} and r.body["cell_id"] in enterprise.cells]
    assert order == [(kind, c) for c in enterprise.cells for kind in ("deploy", "answered")]
    # The timings did come from the input (the bake was 0 s, not the policy's minute).
    assert result["stopDate"] - result["startDate"] < timedelta(seconds=60)


def _tampered(plan: Plan, change: Any) -> dict[str, Any]:
    document = copy.deepcopy(rollout_input(plan, VERSION, FAST))
    change(document)
    return document


@pytest.mark.parametrize("case", ["control-plane-batch", "control-plane-in-batch", "cell-of-a-later-wave",
                                  "renamed-wave", "dropped-cell"])
def test_batches_that_are_not_the_plans_cells_are_refused(env: em.Emulated, plan: Plan, case: str) -> None:
    smb = plan.waves[1].cells
    changes = {  # the canary wave (0) tampered with, except where it has too few cells
        "control-plane-batch": (0, lambda d: d["waves"][0]["batches"].append(["control-plane"])),
        "control-plane-in-batch": (0, lambda d: d["waves"][0]["batches"][0].insert(0, "control-plane")),
        "cell-of-a-later-wave": (0, lambda d: d["waves"][0]["batches"][0].append(smb[0])),
        "renamed-wave": (0, lambda d: d["waves"][0].update(name="smb")),
        "dropped-cell": (1, lambda d: d["waves"][1]["batches"][0].remove(smb[0])),
    }
    index, change = changes[case]
    driver = em.Driver(env)
    result = driver.run(em.start(env, _tampered(plan, change)), timeout=60)
    assert (result["status"], result["error"]) == ("FAILED", "PlanMismatch"), result
    wave = plan.waves[index]
    assert result["cause"] == f"wave {wave.name}: the input's batches are not the plan's cells; nothing was deployed"
    deployed = [d["cell_id"] for d in driver.requests("deploy")]
    assert deployed == [c for w in plan.waves[:index] for c in w.cells]  # the tampered wave deployed nothing
    assert "control-plane" not in {r.body.get("cell_id") for r in driver.log}
