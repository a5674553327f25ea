"""The plan without a decommissioning cell; the calendar with maintenance windows; approvals drawn per cell."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from fleet.inputs import load_fleet, policy_document
from fleet.options import REPO_ROOT
from model.cells import Fleet, Tier
from model.policy import parse_policy
from model.windows import next_opening, window_span
from pipelines.calendar import calendar
from pipelines.render import plan_document, plan_mermaid, plan_table
from pipelines.waves import Plan, plan_waves

START = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def _plan(fleet: Fleet) -> Plan:
    doc = policy_document(REPO_ROOT)
    return plan_waves(fleet, parse_policy(doc), doc)


def _retire(fleet: Fleet, cell_id: str) -> Fleet:
    retired = fleet.cell(cell_id).model_copy(update={"decommission": True})
    return Fleet(cells=tuple(c for c in fleet.cells if c.id != cell_id), decommissioning=(retired,))


def test_rollouts_skip_a_decommissioning_cell() -> None:
    sample = load_fleet(REPO_ROOT)
    fleet = _retire(sample, "smb-eu-1")
    plan = _plan(fleet)
    assert "smb-eu-1" not in plan.cell_order
    assert sorted(plan.cell_order) == sorted(fleet.ids) == sorted(set(sample.ids) - {"smb-eu-1"})
    assert plan.decommissioning == ("smb-eu-1",)
    fraction = plan.policy.waves[1].select.fraction
    assert fraction is not None
    assert len(plan.waves[1].cells) == math.ceil(fraction * len(fleet.by_tier(Tier.SMB)))
    assert plan_document(plan)["decommissioning"] == ["smb-eu-1"]
    assert "decommissioning (in no wave): smb-eu-1" in plan_table(plan)
    assert "decommissioning, in no wave:<br/>smb-eu-1" in plan_mermaid(plan)
    assert "decommissioning" not in plan_mermaid(_plan(sample))
    assert "decommissioning" not in plan_document(_plan(sample))  # the sample's plan.json is unchanged


def _inside(window: str, at: datetime, estimate: timedelta) -> bool:
    opens, closes = next_opening(window, at)
    return opens <= at and at + estimate <= closes


def test_the_calendar_starts_each_windowed_cell_in_its_first_fitting_opening() -> None:
    fleet = load_fleet(REPO_ROOT)
    plan = _plan(fleet)
    windows = {c.id: c.maintenance_window for c in fleet.cells if c.maintenance_window}
    estimate = plan.policy.deploy_estimate
    rows = calendar(plan, windows, START)
    ready = START  # earliest: when the previous wave (or, one at a time, the previous cell) is done
    for row in rows:
        policy = row.wave.policy
        for times in row.cells:
            assert times.earliest is not None and times.latest is not None
            assert ready <= times.earliest <= times.latest
            if times.window is not None:
                assert _inside(times.window, times.earliest, estimate) and _inside(times.window, times.latest, estimate)
                assert times.earliest - timedelta(weeks=1) < ready  # no earlier opening would have done
            if policy.one_at_a_time:
                ready = times.earliest + estimate + policy.bake.min
        assert row.earliest_end is not None and row.latest_end is not None
        assert START < row.earliest_end <= row.latest_end
        ready = row.earliest_end
    enterprise = rows[-1]
    first, second = enterprise.cells[:2]
    bake = enterprise.wave.policy.bake.min
    assert second.earliest is not None and first.earliest is not None
    assert second.earliest >= first.earliest + estimate + bake  # one at a time: the next waits for the bake


def test_a_window_closing_before_the_deploy_fits_waits_a_week() -> None:
    fleet = load_fleet(REPO_ROOT)
    plan = _plan(fleet)
    canary = plan.waves[0].cells[0]
    window = "tue:23:10-wed:01:10"  # open at START, but only 10 of the deploy's 15 minutes left
    assert window_span(window)[1] > plan.policy.deploy_estimate
    (times,) = calendar(plan, {canary: window}, START)[0].cells
    assert times.earliest == datetime(2026, 12, 8, 23, 10, tzinfo=UTC)
    inside = calendar(plan, {canary: "tue:23:10-wed:03:10"}, START)[0].cells[0]
    assert inside.earliest == START  # open with time to spare: at once


def test_the_table_and_json_show_windows_and_the_calendar() -> None:
    fleet = load_fleet(REPO_ROOT)
    plan = _plan(fleet)
    windows = {c.id: c.maintenance_window for c in fleet.cells if c.maintenance_window}
    table = plan_table(plan, windows, START)
    document = plan_document(plan, windows, START)["calendar"]
    listed = {c["cell"]: c for w in document["waves"] for c in w["cells"]}
    assert set(listed) == set(windows)
    for cell, window in windows.items():
        assert listed[cell]["window"] == window
        assert f"{cell} (window {window}): deploy starts" in table
        assert listed[cell]["earliest_deploy"] <= listed[cell]["latest_deploy"]


def test_mermaid_draws_approval_per_enterprise_cell() -> None:
    fleet = load_fleet(REPO_ROOT)
    plan = _plan(fleet)
    enterprise = [w for w in plan.waves if w.policy.one_at_a_time and w.policy.approval]
    assert enterprise
    chart = plan_mermaid(plan)
    assert chart.count("{{approval}}") == sum(len(w.cells) for w in enterprise)
    assert "-->|approval|" not in chart  # never on the wave edge for a per-cell approval
    many = plan_mermaid(plan, max_listed=1)  # too many cells to draw one by one: one gate, looped per cell
    assert "{{approval per cell}}" in many and "-->|next cell|" in many
    assert "-->|approval|" not in many
