"""CloudWatch dashboard bodies (dict-built JSON) from the dashboard model: the global view and one per cell.

The global view is the heatmap (alarm-status widgets over every cell's health alarm, by wave),
the cross-cell comparison (error rate, p99, CPU: one line per cell up to `PER_CELL_LIMIT`
cells, by tier and region past it) and which cells run which version. A cell's dashboard is
its alarms, metrics, customer impact, deployments, and a section per service (the service
view). Links in the text widgets drill down and back up.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from model.contract import (
    CELL_TELEMETRY,
    GLOBAL_DASHBOARD,
    METRIC_NAMESPACE,
    IssueType,
    cell_issue_alarm,
    cell_log_group,
)
from model.contract import cell_dashboard as cell_dashboard_name
from modules.cell.workloads import NAMESPACE as K8S_NAMESPACE
from observability.alerts import ALERTS, runbook_url
from observability.links import argocd_app_url, dashboard_url, logs_query, registry_item_url
from observability.settings import ObservabilitySettings
from observability.views import CellView, GlobalView

Widget = dict[str, Any]

# CloudWatch quotas (Service Quotas, CloudWatch dashboards)
GRID_COLUMNS = 24
MAX_WIDGETS = 500
MAX_ALARMS_PER_WIDGET = 100
MAX_METRICS_PER_WIDGET = 500
MAX_METRICS_PER_DASHBOARD = 2500
PERIOD = 60
ALARMS_PER_ROW = 8  # alarm-status tiles across a full-width widget
CONTAINER_INSIGHTS = "ContainerInsights"

DIM = {key: CELL_TELEMETRY[key].dimension for key in CELL_TELEMETRY}


@dataclass(frozen=True)
class Dashboard:
    """A dashboard's name and body (the dict `put_dashboard` takes as JSON)."""

    name: str
    body: dict[str, Any]


def _chunks(items: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
    it = iter(items)
    while chunk := tuple(islice(it, size)):
        yield chunk


def _layout(widgets: list[Widget]) -> list[Widget]:
    """Place widgets left to right, wrapping at the grid's 24 columns (each row as tall as its tallest)."""
    x = y = row_height = 0
    placed = []
    for widget in widgets:
        width, height = widget["width"], widget["height"]
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y})
        x += width
        row_height = max(row_height, height)
    return placed


def _text(markdown: str, width: int = GRID_COLUMNS, height: int = 2) -> Widget:
    return {"type": "text", "width": width, "height": height, "properties": {"markdown": markdown}}


def alarm_arn(cell: CellView, alarm: str) -> str:
    return f"arn:aws:cloudwatch:{cell.region}:{cell.account}:alarm:{alarm}"


def _alarm_widget(title: str, arns: Sequence[str], region: str, height: int = 6) -> Widget:
    return {
        "type": "alarm", "width": GRID_COLUMNS, "height": height,
        "properties": {"title": title, "alarms": list(arns), "region": region, "sortBy": "stateUpdatedTimestamp"},
    }


def _graph(title: str, metrics: list[list[Any]], region: str, *, width: int = 8, stat: str = "Sum",
           label: str | None = None) -> Widget:
    properties: dict[str, Any] = {"title": title, "metrics": metrics, "region": region, "view": "timeSeries",
                                  "stacked": False, "period": PERIOD, "stat": stat}
    if label:
        properties["yAxis"] = {"left": {"label": label, "showUnits": False}}
    return {"type": "metric", "width": width, "height": 6, "properties": properties}


def _logs(title: str, log_group: str, query: str, region: str, *, width: int = 12, view: str = "table") -> Widget:
    return {"type": "log", "width": width, "height": 6,
            "properties": {"title": title, "query": f"SOURCE '{log_group}' | {query}", "region": region, "view": view}}


def _where(cell: CellView) -> dict[str, str]:
    return {"accountId": cell.account, "region": cell.region}


def _error_rate(cell: CellView, n: int, extra: tuple[str, ...] = (), label: str | None = None) -> list[list[Any]]:
    """errors / requests of one cell (optionally one service) as metric math, the metrics hidden."""
    dims = [DIM["cell_id"], cell.cell_id, *extra]
    return [
        [METRIC_NAMESPACE, "Errors", *dims, {"id": f"e{n}", "visible": False, **_where(cell)}],
        [METRIC_NAMESPACE, "Requests", *dims, {"id": f"r{n}", "visible": False, **_where(cell)}],
        [{"expression": f"IF(r{n} > 0, 100 * e{n} / r{n}, 0)", "label": label or cell.cell_id, "id": f"rate{n}"}],
    ]


def _p99(cell: CellView, extra: tuple[str, ...] = (), label: str | None = None) -> list[list[Any]]:
    dims = [DIM["cell_id"], cell.cell_id, *extra]
    return [[METRIC_NAMESPACE, "Latency", *dims, {"stat": "p99", "label": label or cell.cell_id, **_where(cell)}]]


def _cpu(cell: CellView) -> list[list[Any]]:
    return [[CONTAINER_INSIGHTS, "node_cpu_utilization", "ClusterName", cell.cell_id,
             {"stat": "Average", "label": cell.cell_id, **_where(cell)}]]


def _search(dimension: str, value: str, metric: str, stat: str) -> str:
    return f"SEARCH('{{{METRIC_NAMESPACE},{dimension}}} {dimension}=\"{value}\" MetricName=\"{metric}\"', '{stat}', {PERIOD})"


def _aggregate_error_rate(dimension: str, values: Sequence[str]) -> list[list[Any]]:
    """Error rate per tier or region over every account, by SEARCH (a cross-account monitoring account)."""
    out: list[list[Any]] = []
    for n, value in enumerate(values):
        out += [
            [{"expression": f"SUM({_search(dimension, value, 'Errors', 'Sum')})", "id": f"e{n}", "visible": False}],
            [{"expression": f"SUM({_search(dimension, value, 'Requests', 'Sum')})", "id": f"r{n}", "visible": False}],
            [{"expression": f"IF(r{n} > 0, 100 * e{n} / r{n}, 0)", "label": value, "id": f"rate{n}"}],
        ]
    return out


def _aggregate_max(dimension: str, values: Sequence[str], metric: str, stat: str) -> list[list[Any]]:
    return [[{"expression": f"MAX({_search(dimension, value, metric, stat)})", "label": value, "id": f"m{n}"}]
            for n, value in enumerate(values)]


def _heatmap(view: GlobalView, region: str) -> list[Widget]:
    widgets: list[Widget] = []
    for wave in view.waves:
        widgets.append(_text(f"### Wave {wave.index + 1}: {wave.name} ({len(wave.cells)} cells)", height=1))
        for part, cells in enumerate(_chunks(wave.cells, MAX_ALARMS_PER_WIDGET), start=1):
            suffix = f" ({part})" if len(wave.cells) > MAX_ALARMS_PER_WIDGET else ""
            widgets.append(_alarm_widget(f"Health: {wave.name}{suffix}",
                                         [alarm_arn(c, c.health_alarm) for c in cells], region,
                                         height=2 + math.ceil(len(cells) / ALARMS_PER_ROW)))
    return widgets


def _comparison(view: GlobalView, region: str) -> list[Widget]:
    cells = view.cells
    if view.per_cell:
        return [
            _graph("Error rate per cell (%)", [m for n, c in enumerate(cells) for m in _error_rate(c, n)], region,
                   label="%"),
            _graph("p99 latency per cell (ms)", [m for c in cells for m in _p99(c)], region, stat="p99", label="ms"),
            _graph("Node CPU per cell (%)", [m for c in cells for m in _cpu(c)], region, stat="Average", label="%"),
        ]
    tier, reg = DIM["tier"], DIM["region"]
    return [
        _graph("Error rate by tier (%)", _aggregate_error_rate(tier, view.tiers), region, width=12, label="%"),
        _graph("Error rate by region (%)", _aggregate_error_rate(reg, view.regions), region, width=12, label="%"),
        _graph("Worst p99 latency by tier (ms)", _aggregate_max(tier, view.tiers, "Latency", "p99"), region,
               width=12, stat="p99", label="ms"),
        _graph("Worst p99 latency by region (ms)", _aggregate_max(reg, view.regions, "Latency", "p99"), region,
               width=12, stat="p99", label="ms"),
    ]


def _md(text: str) -> str:
    """A value safe inside a Markdown table cell (validated ids never need it; descriptions might)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _versions(view: GlobalView, settings: ObservabilitySettings) -> Widget:
    if view.per_cell:
        rows = ["| wave | cell | tier | region | services | drill down |", "|---|---|---|---|---|---|"]
        rows += [
            f"| {_md(w.name)} | {c.cell_id} | {c.tier} | {c.region} | "
            + ", ".join(f"{s.product.value} {s.release}" for s in c.services)
            + f" | [dashboard]({dashboard_url(settings.region, c.dashboard)}) |"
            for w in view.waves for c in w.cells
        ]
        return _text("\n".join(["## Which cell runs which version", *rows]), height=2 + len(rows))
    rows = ["| wave | release | cells |", "|---|---|---|"]
    rows += [f"| {_md(wave)} | {release} | {count} |" for (wave, release), count in view.version_counts().items()]
    return _text("\n".join(["## Which release runs in how many cells", *rows]), height=2 + len(rows))


def global_dashboard(view: GlobalView, settings: ObservabilitySettings) -> Dashboard:
    """The fleet at a glance: heatmap by wave, cross-cell comparison, versions, links to every cell's dashboard."""
    region = settings.region
    intro = (
        f"# Fleet: {len(view.cells)} cells in {len(view.waves)} waves\n"
        f"Drill down: each cell has the dashboard `{cell_dashboard_name('<cell_id>')}`"
        f"{' (linked in the version table)' if view.per_cell else ''}; alerts page once per issue type: "
        + ", ".join(f"[{a.title}]({settings.runbook_base.rstrip('/')}/{a.issue.value})" for a in ALERTS.values())
    )
    widgets = [_text(intro, height=3), *_heatmap(view, region), *_comparison(view, region), _versions(view, settings)]
    return Dashboard(name=view.dashboard, body={"start": "-PT3H", "periodOverride": "inherit", "widgets": _layout(widgets)})


def _service_section(cell: CellView, n: int, service: str) -> list[Widget]:
    extra = (DIM["service"], service)
    pod_cpu = [[CONTAINER_INSIGHTS, "pod_cpu_utilization", "ClusterName", cell.cell_id, "Namespace", K8S_NAMESPACE,
                "Service", service, {"stat": "Average", "label": service, **_where(cell)}]]
    return [
        _text(f"### Service: {service}", height=1),
        _graph(f"{service}: error rate (%)", _error_rate(cell, n, extra, label=service), cell.region, width=6, label="%"),
        _graph(f"{service}: p99 latency (ms)", _p99(cell, extra, label=service), cell.region, width=6, stat="p99",
               label="ms"),
        _graph(f"{service}: pod CPU (%)", pod_cpu, cell.region, width=6, stat="Average", label="%"),
        _logs(f"{service}: logs", cell_log_group(cell.cell_id), logs_query(cell.cell_id, service), cell.region, width=6),
    ]


def cell_dashboard(cell: CellView, settings: ObservabilitySettings) -> Dashboard:
    """One cell: its alarms, metrics, customer impact, deployments, and a section per service."""
    region = cell.region
    alarms = [alarm_arn(cell, cell.health_alarm), *(alarm_arn(cell, cell_issue_alarm(i, cell.cell_id)) for i in IssueType)]
    runbooks = ", ".join(f"[{a.title}]({runbook_url(settings.runbook_base, a.issue, cell.cell_id)})"
                         for a in ALERTS.values())
    header = (
        f"# Cell {cell.cell_id} ({cell.tier}, {cell.region}, wave {_md(cell.wave)})\n"
        f"[Fleet dashboard]({dashboard_url(settings.region, GLOBAL_DASHBOARD)}) · "
        f"[Argo CD]({argocd_app_url(settings.argocd_url, cell.cell_id)}) · "
        f"[Registry item]({registry_item_url(settings.registry_region, settings.registry_table, cell.cell_id)}) · "
        f"Runbooks: {runbooks}"
    )
    releases = ["| service | release | API versions |", "|---|---|---|"]
    releases += [f"| {s.name} | {s.release} | {', '.join(s.api_versions)} |" for s in cell.services]
    cell_field = CELL_TELEMETRY["cell_id"].log_field
    widgets = [
        _text(header, height=2),
        _alarm_widget(f"Alarms of {cell.cell_id}", alarms, region, height=3),
        _graph("Error rate (%)", _error_rate(cell, 0), region, label="%"),
        _graph("p99 latency (ms)", _p99(cell), region, stat="p99", label="ms"),
        _graph("Node CPU (%)", _cpu(cell), region, stat="Average", label="%"),
        _logs("Customer impact: affected accounts (errors)", cell_log_group(cell.cell_id),
              f'filter {cell_field} = "{cell.cell_id}" and level = "ERROR" '
              "| stats count_distinct(account_id) as affected_accounts by bin(5m)", region, view="timeSeries"),
        _logs("Recent deployments", settings.pipeline_log_group,
              f'filter @message like "{cell.cell_id}" | fields @timestamp, @message | sort @timestamp desc | limit 20',
              settings.region),
        _text("\n".join(["## Releases (config changes: `git log -- cells/" + cell.cell_id + ".yaml`)", *releases]),
              height=2 + len(releases)),
    ]
    for n, service in enumerate(cell.services, start=1):
        widgets += _service_section(cell, n, service.name)
    return Dashboard(name=cell.dashboard, body={"start": "-PT3H", "periodOverride": "inherit", "widgets": _layout(widgets)})


def dashboards(view: GlobalView, settings: ObservabilitySettings) -> list[Dashboard]:
    """The global dashboard, then one per cell in deploy order."""
    return [global_dashboard(view, settings), *(cell_dashboard(c, settings) for c in view.cells)]


def _metric_count(widget: Widget) -> int:
    return len(widget["properties"].get("metrics", [])) if widget["type"] == "metric" else 0


def limit_problems(body: dict[str, Any]) -> list[str]:
    """Every way `body` breaks a CloudWatch dashboard quota or the grid (empty when it fits)."""
    widgets = body["widgets"]
    problems = []
    if len(widgets) > MAX_WIDGETS:
        problems.append(f"{len(widgets)} widgets > {MAX_WIDGETS}")
    if (total := sum(_metric_count(w) for w in widgets)) > MAX_METRICS_PER_DASHBOARD:
        problems.append(f"{total} metrics > {MAX_METRICS_PER_DASHBOARD}")
    cells: set[tuple[int, int]] = set()
    for i, w in enumerate(widgets):
        if not (1 <= w["width"] <= GRID_COLUMNS and w["x"] >= 0 and w["x"] + w["width"] <= GRID_COLUMNS and w["height"] >= 1):
            problems.append(f"widget {i}: outside the {GRID_COLUMNS}-column grid")
        if _metric_count(w) > MAX_METRICS_PER_WIDGET:
            problems.append(f"widget {i}: {_metric_count(w)} metrics > {MAX_METRICS_PER_WIDGET}")
        if w["type"] == "alarm" and len(w["properties"]["alarms"]) > MAX_ALARMS_PER_WIDGET:
            problems.append(f"widget {i}: {len(w['properties']['alarms'])} alarms > {MAX_ALARMS_PER_WIDGET}")
        area = {(w["x"] + dx, w["y"] + dy) for dx in range(w["width"]) for dy in range(w["height"])}
        if area & cells:
            problems.append(f"widget {i}: overlaps another widget")
        cells |= area
    return problems

