"""The observability renderers are pure: no file, clock or environment read (the layout test's guard, widened)."""

from __future__ import annotations

import os

import pytest

from fleet.options import REPO_ROOT
from model.cells import Fleet
from model.contract import IssueType
from observability.grafana import dashboard_json
from observability.prometheus import alertmanager_yaml, rules_yaml
from observability.runbooks import render_alert_runbook
from observability.settings import ObservabilitySettings
from observability.specs import observability_specs
from observability.views import cell_view
from pipelines.waves import Plan
from tests.model import test_layers


def test_renderers_touch_no_file_clock_or_environment(fleet: Fleet, plan: Plan, settings: ObservabilitySettings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_layers, "PRODUCT", (*test_layers.PRODUCT, str(REPO_ROOT / "observability") + os.sep))
    with test_layers.no_io():
        specs = observability_specs(fleet, plan, settings)
        assert specs.dashboards and specs.composites
        assert dashboard_json(settings) and rules_yaml(settings) and alertmanager_yaml("http://127.0.0.1:9/page")
        assert render_alert_runbook(IssueType.ERROR_RATE, cell_view(fleet, plan, fleet.ids[0]), settings)


def test_the_widened_guard_catches_observability_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from observability import views

    monkeypatch.setattr(test_layers, "PRODUCT", (*test_layers.PRODUCT, str(REPO_ROOT / "observability") + os.sep))
    with test_layers.no_io(), pytest.raises(AssertionError, match="renderer touched"):
        exec(compile("open('Pulumi.yaml')", str(views.__file__), "exec"), {})
