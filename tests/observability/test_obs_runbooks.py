"""Runbooks per alert, parameterised by cell: `fleet alerts runbook --alert A --cell C`, and every alert links to it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fleet.cli import app
from fleet.options import REPO_ROOT
from model.contract import GLOBAL_DASHBOARD, IssueType, cell_dashboard
from observability.alarms import fleet_composites
from observability.alerts import ALERTS, runbook_url
from observability.prometheus import alerting_rules
from observability.runbooks import render_alert_runbook
from observability.settings import ObservabilitySettings
from observability.views import GlobalView
from tests.support.golden import assert_golden

runner = CliRunner()


def test_runbook_golden(view: GlobalView, settings: ObservabilitySettings) -> None:
    cell = next(c for c in view.cells if c.cell_id == "smb-eu-1")
    assert_golden("observability/runbook-error-rate-smb-eu-1.md", render_alert_runbook(IssueType.ERROR_RATE, cell, settings))


@pytest.mark.parametrize("issue", list(IssueType))
def test_every_cell_gets_its_own_links(issue: IssueType, view: GlobalView, settings: ObservabilitySettings) -> None:
    for cell in view.cells[:3]:
        text = render_alert_runbook(issue, cell, settings)
        others = [c.cell_id for c in view.cells if c.cell_id != cell.cell_id and cell.cell_id not in c.cell_id]
        assert f"dashboard/{cell_dashboard(cell.cell_id)}" in text and f"dashboard/{GLOBAL_DASHBOARD}" in text
        assert f'cell_id = "{cell.cell_id}"' in text and f"applications/argocd/{cell.cell_id}" in text
        assert f"pk={cell.cell_id}" in text
        assert not any(f"`{o}`" in text for o in others)


def test_cli_renders_the_runbook(view: GlobalView, settings: ObservabilitySettings) -> None:
    result = runner.invoke(app, ["alerts", "runbook", "--alert", "p99-latency", "--cell", "smb-us-1",
                                 "--root", str(REPO_ROOT)])
    assert result.exit_code == 0, result.output
    cell = next(c for c in view.cells if c.cell_id == "smb-us-1")
    assert result.stdout == render_alert_runbook(IssueType.P99_LATENCY, cell, settings)


@pytest.mark.parametrize(("args", "message"), [
    (["--alert", "disk-full", "--cell", "smb-us-1"], "'disk-full' is not one of"),
    (["--alert", "error-rate", "--cell", "no-such-cell"], "unknown cell 'no-such-cell'"),
])
def test_cli_usage_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["alerts", "runbook", *args, "--root", str(REPO_ROOT)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()).replace("│ ", "").replace(" │", "")


def test_the_migration_runbook_command_is_unchanged() -> None:
    migration = next(p.parent.name for p in (REPO_ROOT / "migrations").glob("*/manifest.yaml"))
    result = runner.invoke(app, ["runbook", migration, "--root", str(REPO_ROOT)])
    assert result.exit_code == 0, result.output
    assert migration in result.stdout


def test_every_alert_links_to_its_runbook(view: GlobalView, settings: ObservabilitySettings) -> None:
    for spec in fleet_composites(view, settings):
        issue = next(i for i in IssueType if spec.name.startswith(f"cellfleet-fleet-{i.value}"))
        assert f"{settings.runbook_base}/{issue.value}?cell_id=" in spec.description
    rules = alerting_rules(settings)["groups"][0]["rules"]
    for alert in ALERTS.values():
        rule = next(r for r in rules if r["alert"] == alert.prometheus_name)
        assert rule["annotations"]["runbook_url"] == runbook_url(settings.runbook_base, alert.issue, "{{$labels.cell_id}}")
