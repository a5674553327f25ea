"""Shared fixtures: the sample fleet and its plan, a 10,000-cell synthetic fleet, and every cell alarm the stacks create."""

from __future__ import annotations

import pulumi
import pytest

from fleet.inputs import load_fleet
from fleet.mocking import Inventory, new_event_loop, run_program
from fleet.options import REPO_ROOT
from model.cells import Fleet
from model.contract import DEFAULT_REGISTRY_TABLE, IssueType, alarm_prefix
from modules.cell.args import cell_args
from modules.cell.observability import build_observability
from observability.settings import ObservabilitySettings
from observability.views import GlobalView, global_view
from pipelines.waves import Plan
from tests.support.fleets import wave_plan
from tests.support.synthetic import synthetic_fleet, synthetic_plan

SUFFIXES = {*(i.value for i in IssueType), "health"}
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


def alarm_names(inventory: Inventory) -> set[str]:
    return {a.inputs.get("name") or a.inputs["alarmName"] for kind in ALARM_TYPES for a in inventory.of_type(kind)}


def _cells_alarms(fleet: Fleet) -> None:
    """Every cell's alarms as the Cell component builds them (its own `build_observability`, from `cell_args`)."""
    for cell in fleet.cells:
        key = f"arn:aws:kms:{cell.region}:{cell.account}:key/{cell.id}"  # the cell's own key, built elsewhere
        build_observability(cell.id, cell.id, cell_args(cell, DEFAULT_REGISTRY_TABLE).observability, key,
                            pulumi.ResourceOptions())


@pytest.fixture(scope="session")
def stack_alarms(fleet: Fleet) -> dict[str, tuple[str, str, str]]:
    """Alarm name -> (cell id, region, account) of every alarm of every sample cell, under Pulumi's mocks.

    One program for all cells runs the Cell component's alarm code; `test_obs_telemetry` checks one
    full cell stack creates the same alarms, so this stands for the stacks without 14 full previews.
    """
    new_event_loop()
    inventory = run_program(lambda: _cells_alarms(fleet), stack="alarms")
    by_prefix = {alarm_prefix(c.id): c for c in fleet.cells}
    out: dict[str, tuple[str, str, str]] = {}
    for name in alarm_names(inventory):
        cell = next(c for prefix, c in by_prefix.items() if name.startswith(prefix) and name[len(prefix):] in SUFFIXES)
        out[name] = (cell.id, cell.region, cell.account)
    return out
