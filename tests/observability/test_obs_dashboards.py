"""CloudWatch dashboards: put on moto and read back, within quotas at 14 and 10,000 cells, naming only real alarms."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from moto import mock_aws

from model.contract import GLOBAL_DASHBOARD, cell_dashboard
from model.jsonio import compact, dumps
from observability.cloudwatch import (
    GRID_COLUMNS,
    MAX_ALARMS_PER_WIDGET,
    MAX_WIDGETS,
    dashboards,
    global_dashboard,
    limit_problems,
)
from observability.cloudwatch import (
    cell_dashboard as render_cell_dashboard,
)
from observability.settings import ObservabilitySettings
from observability.views import GlobalView
from tests.support.golden import assert_golden

ALARM_ARN = re.compile(r"^arn:aws:cloudwatch:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):alarm:(?P<name>[a-z0-9-]+)$")


def _alarm_arns(body: dict[str, Any]) -> list[str]:
    return [arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]]


def _independent_geometry(body: dict[str, Any]) -> None:
    """The quotas checked here again, without the renderer's own checker."""
    widgets = body["widgets"]
    assert 0 < len(widgets) <= MAX_WIDGETS
    occupied: set[tuple[int, int]] = set()
    for w in widgets:
        assert w["x"] >= 0 and w["x"] + w["width"] <= GRID_COLUMNS and w["height"] > 0
        if w["type"] == "alarm":
            assert 0 < len(w["properties"]["alarms"]) <= MAX_ALARMS_PER_WIDGET
        area = {(w["x"] + i, w["y"] + j) for i in range(w["width"]) for j in range(w["height"])}
        assert not area & occupied
        occupied |= area


def test_dashboards_put_on_moto_read_back(view: GlobalView, settings: ObservabilitySettings) -> None:
    boards = dashboards(view, settings)
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name=settings.region)
        for board in boards:
            cw.put_dashboard(DashboardName=board.name, DashboardBody=compact(board.body))
        names = {d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]}
        assert names == {GLOBAL_DASHBOARD, *(cell_dashboard(c.cell_id) for c in view.cells)}
        for board in boards:
            got = cw.get_dashboard(DashboardName=board.name)
            assert json.loads(got["DashboardBody"]) == board.body


def test_every_alarm_a_dashboard_names_exists_in_the_cell_stacks(
        view: GlobalView, settings: ObservabilitySettings, stack_alarms: dict[str, tuple[str, str, str]]) -> None:
    named = [arn for board in dashboards(view, settings) for arn in _alarm_arns(board.body)]
    assert named
    for arn in named:
        match = ALARM_ARN.match(arn)
        assert match, arn
        _, region, account = stack_alarms[match["name"]]  # KeyError: no stack creates it
        assert (match["region"], match["account"]) == (region, account), arn
    healths = {ALARM_ARN.match(a)["name"] for a in _alarm_arns(global_dashboard(view, settings).body)}  # type: ignore[index]
    assert healths == {c.health_alarm for c in view.cells}  # the heatmap: every cell, once


def test_sample_dashboards_fit_the_quotas(view: GlobalView, settings: ObservabilitySettings) -> None:
    for board in dashboards(view, settings):
        assert limit_problems(board.body) == [], board.name
        _independent_geometry(board.body)


def test_global_view_of_10000_cells_fits_by_aggregating(large_view: GlobalView, settings: ObservabilitySettings) -> None:
    board = global_dashboard(large_view, settings)
    assert limit_problems(board.body) == []
    _independent_geometry(board.body)
    assert len(_alarm_arns(board.body)) == 10_000  # every cell still on the heatmap
    metrics = [w for w in board.body["widgets"] if w["type"] == "metric"]
    titles = {w["properties"]["title"] for w in metrics}
    assert {"Error rate by tier (%)", "Error rate by region (%)"} <= titles  # aggregated, not one line per cell
    assert all(len(w["properties"]["metrics"]) <= 3 * len(large_view.regions) for w in metrics)
    # one heatmap header per wave, each wave's cells under it
    headers = [w["properties"]["markdown"] for w in board.body["widgets"] if w["type"] == "text"
               and w["properties"]["markdown"].startswith("### Wave")]
    assert len(headers) == len(large_view.waves)
    one_cell = render_cell_dashboard(large_view.cells[-1], settings)
    assert limit_problems(one_cell.body) == []


def test_a_broken_body_is_reported() -> None:
    body = {"widgets": [{"type": "alarm", "x": 20, "y": 0, "width": 6, "height": 1,
                         "properties": {"alarms": ["a"] * 101}}] * 2}
    problems = limit_problems(body)
    assert any("outside" in p for p in problems) and any("101 alarms" in p for p in problems)
    assert any("overlaps" in p for p in problems)


def test_drill_down_links_both_ways(view: GlobalView, settings: ObservabilitySettings) -> None:
    text = json.dumps(global_dashboard(view, settings).body)
    for cell in view.cells:
        assert f"#dashboards/dashboard/{cell.dashboard})" in text
        back = json.dumps(render_cell_dashboard(cell, settings).body)
        assert f"#dashboards/dashboard/{GLOBAL_DASHBOARD})" in back
        assert f'cell_id = \\"{cell.cell_id}\\"' in back  # its log queries filter on the cell_id field


@pytest.mark.parametrize("name", ["global", "smb-eu-1"])
def test_dashboard_golden(name: str, view: GlobalView, settings: ObservabilitySettings) -> None:
    if name == "global":
        body = global_dashboard(view, settings).body
    else:
        body = render_cell_dashboard(next(c for c in view.cells if c.cell_id == name), settings).body
    assert_golden(f"observability/cloudwatch-{name}.json", dumps(body))
