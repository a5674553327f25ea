"""One runbook per alert, parameterised by cell: Markdown from the template beside this module."""

from __future__ import annotations

from pathlib import Path

from model.contract import CELL_TELEMETRY, GLOBAL_DASHBOARD, IssueType, cell_issue_alarm, cell_log_group, fleet_alarm
from model.templating import load_templates
from observability.alerts import ALERTS
from observability.links import argocd_app_url, dashboard_url, logs_insights_url, logs_query, registry_item_url
from observability.settings import ObservabilitySettings
from observability.views import CellView

TEMPLATE = load_templates(
    Path(__file__).resolve().parent / "templates", ("alert_runbook.md.j2",),
    filters={"md": lambda text: str(text).replace("|", "\\|").replace("\n", " ")},
)["alert_runbook.md.j2"]


def render_alert_runbook(issue: IssueType, cell: CellView, settings: ObservabilitySettings) -> str:
    """The runbook of alert `issue` for `cell`, with the cell's dashboard, logs, Argo CD and registry links."""
    alert = ALERTS[issue]
    return TEMPLATE.render(
        alert=alert,
        threshold=f"{alert.threshold:g}",
        cell=cell,
        fleet_alarm=fleet_alarm(issue),
        cell_alarm=cell_issue_alarm(issue, cell.cell_id),
        health_alarm=cell.health_alarm,
        registry_table=settings.registry_table,
        log_group=cell_log_group(cell.cell_id),
        cell_field=CELL_TELEMETRY["cell_id"].log_field,
        logs_query=logs_query(cell.cell_id),
        links={
            "dashboard": dashboard_url(settings.region, cell.dashboard),
            "fleet": dashboard_url(settings.region, GLOBAL_DASHBOARD),
            "argocd": argocd_app_url(settings.argocd_url, cell.cell_id),
            "registry": registry_item_url(settings.registry_region, settings.registry_table, cell.cell_id),
            "logs": logs_insights_url(cell.region),
        },
    )
