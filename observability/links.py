"""Where an operator clicks: console links to a dashboard, a logs query, the Argo CD app, the registry item."""

from __future__ import annotations

from urllib.parse import quote

from model.contract import CELL_TELEMETRY

LOG_FIELDS = {key: CELL_TELEMETRY[key].log_field for key in CELL_TELEMETRY}


def console(region: str, service: str, fragment: str) -> str:
    return f"https://{region}.console.aws.amazon.com/{service}/home?region={region}#{fragment}"


def dashboard_url(region: str, name: str) -> str:
    return console(region, "cloudwatch", f"dashboards/dashboard/{name}")


def logs_insights_url(region: str) -> str:
    return console(region, "cloudwatch", "logsV2:logs-insights")


def logs_query(cell_id: str, service: str | None = None, *, extra: str = "") -> str:
    """A Logs Insights query over the cell's records, filtered on the `cell_id` field (and the service)."""
    cell_field, service_field = LOG_FIELDS["cell_id"], LOG_FIELDS["service"]
    filters = [f'{cell_field} = "{cell_id}"']
    if service is not None:
        filters.append(f'{service_field} = "{service}"')
    condition = " and ".join(filters) + (f" and {extra}" if extra else "")
    return (f"fields @timestamp, {service_field}, level, @message | filter {condition} "
            "| sort @timestamp desc | limit 100")


def argocd_app_url(base: str, cell_id: str) -> str:
    return f"{base.rstrip('/')}/applications/argocd/{quote(cell_id)}"


def registry_item_url(region: str, table: str, cell_id: str) -> str:
    return console(region, "dynamodbv2", f"edit-item?table={quote(table)}&itemMode=2&pk={quote(cell_id)}")
