"""Shared fixtures: the sample fleet and its plan, a 10,000-cell synthetic fleet, and every cell alarm the stacks create."""

from __future__ import annotations

import pytest

from fleet.inputs import load_fleet
from fleet.mocking import new_event_loop
from fleet.options import REPO_ROOT
from fleet.preview import preview_cell
from model.cells import Fleet
from observability.settings import ObservabilitySettings
from observability.views import GlobalView, global_view
from pipelines.waves import Plan
from tests.support.fleets import wave_plan
from tests.support.synthetic import synthetic_fleet, synthetic_plan

ALARM_TYPES = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return load_fleet(REPO_ROOT)


@pytest.fixture(scope="session")
def plan(fleet: Fleet) -> Plan:
    return wave_plan(REPO_ROOT)


@pytest.fixture(scope="session")
def settings() -> ObservabilitySettings:
    return ObservabilitySettings()


@pytest.fixture(scope="session")
def view(fleet: Fleet, plan: Plan) -> GlobalView:
    return global_view(fleet, plan)


@pytest.fixture(scope="session")
def large_view() -> GlobalView:
    fleet = synthetic_fleet(10_000)
    return global_view(fleet, synthetic_plan(fleet))


@pytest.fixture(scope="session")
def stack_alarms(fleet: Fleet) -> dict[str, tuple[str, str, str]]:
    """Alarm name -> (cell id, region, account) of every alarm every sample cell's stack creates, under Pulumi's mocks."""
    out: dict[str, tuple[str, str, str]] = {}
    for cell in fleet.cells:
        new_event_loop()
        inventory = preview_cell(cell)
        for kind in ALARM_TYPES:
            for alarm in inventory.of_type(kind):
                out[alarm.inputs.get("name") or alarm.inputs["alarmName"]] = (cell.id, cell.region, cell.account)
    return out
