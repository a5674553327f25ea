"""`fleet alerts ...`: the runbook of one alert for one cell, and the observability artefacts (registered by fleet/cli.py).

A group of its own rather than `--alert` on `fleet runbook`: that command takes a migration id
as its required argument; one command with two unrelated modes would make every usage error ambiguous.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fleet.inputs import load_fleet, load_plan
from fleet.options import REPO_ROOT, RootOption, emit
from model.contract import IssueType
from model.jsonio import dumps

alerts_app = typer.Typer(help="Alerts by issue type: runbooks per alert and cell, dashboards and rules.",
                         no_args_is_help=True)


@alerts_app.command("runbook")
def runbook(
    alert: Annotated[IssueType, typer.Option("--alert", help="Issue type of the alert (error-rate, p99-latency).")],
    cell: Annotated[str, typer.Option("--cell", help="Cell id the alert fired for.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the Markdown here instead of stdout.")] = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Render the one runbook of ALERT with CELL's links (dashboard, logs query, Argo CD app, registry item)."""
    from observability.runbooks import render_alert_runbook
    from observability.settings import ObservabilitySettings
    from observability.views import cell_view

    fleet = load_fleet(root)
    if cell not in fleet:
        raise typer.BadParameter(f"unknown cell {cell!r}; cells: {', '.join(fleet.ids)}", param_hint="--cell")
    plan = load_plan(root, fleet)[1]
    emit(render_alert_runbook(alert, cell_view(fleet, plan, cell), ObservabilitySettings()), out)


@alerts_app.command("render")
def render(
    out: Annotated[Path, typer.Option("--out", help="Output folder.", file_okay=False)] = Path("build/observability"),
    webhook_url: Annotated[str, typer.Option("--webhook-url", help="Alertmanager's receiver (the pager's webhook).")]
    = "http://127.0.0.1:9095/page",
    root: RootOption = REPO_ROOT,
) -> None:
    """Write the CloudWatch dashboards, fleet composite alarms, Grafana dashboard, Prometheus rules and Alertmanager config."""
    from observability.grafana import dashboard_json
    from observability.prometheus import alertmanager_yaml, rules_yaml
    from observability.settings import ObservabilitySettings
    from observability.specs import observability_specs

    settings = ObservabilitySettings()
    fleet = load_fleet(root)
    specs = observability_specs(fleet, load_plan(root, fleet)[1], settings)
    files = {f"cloudwatch/{d.name}.json": dumps(d.body) for d in specs.dashboards}
    files["cloudwatch/composite-alarms.json"] = dumps([
        {"name": c.name, "rule": c.rule, "description": c.description, "pages": c.pages} for c in specs.composites])
    files["grafana/fleet.json"] = dashboard_json(settings)
    files["prometheus/rules.yml"] = rules_yaml(settings)
    files["prometheus/alertmanager.yml"] = alertmanager_yaml(webhook_url)
    for relative, text in sorted(files.items()):
        emit(text, out / relative)
    print(f"observability: {len(specs.dashboards)} dashboards, {len(specs.composites)} composite alarms, "
          f"Grafana, Prometheus rules and Alertmanager config -> {out}", file=sys.stderr)
