"""The Grafana dashboard (for teams on Prometheus/Grafana), built with grafana-foundation-sdk.

A `cell_id` variable (filtered by `tier` and `region`) and a row repeated per selected cell:
the global comparison on top, each cell's services below, its logs (Loki) filtered on the
same `cell_id` label the alerts carry.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import common, logs, loki, prometheus, timeseries
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement, LogsSortOrder
from grafana_foundation_sdk.models.dashboard import DashboardLink as DashboardLinkModel
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    VariableRefresh,
    VariableSort,
)

from model.contract import CELL_TELEMETRY, GLOBAL_DASHBOARD
from observability.alerts import ALERTS
from observability.links import dashboard_url
from observability.prometheus import CELL, DURATION, ERRORS, REQUESTS, SERVICE, WINDOW
from observability.settings import ObservabilitySettings

UID = "cellfleet-fleet"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${datasource}")
LOKI = DataSourceRef(type_val="loki", uid="${logs}")
TIER = CELL_TELEMETRY["tier"].label
REGION = CELL_TELEMETRY["region"].label
SELECTED = f'{CELL}=~"${CELL}"'
ONE_CELL = f'{CELL}="${CELL}"'


def _query(expr: str, legend: str, ref: str = "A") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)


def _error_rate(selector: str, by: str) -> str:
    return (f"100 * sum by ({by}) (rate({ERRORS}{{{selector}}}[{WINDOW}]))"
            f" / sum by ({by}) (rate({REQUESTS}{{{selector}}}[{WINDOW}]))")


def _p99(selector: str, by: str) -> str:
    return f"1000 * histogram_quantile(0.99, sum by ({by}, le) (rate({DURATION}{{{selector}}}[{WINDOW}])))"


def _series(title: str, expr: str, legend: str, unit: str, width: int = 8) -> timeseries.Panel:
    legend_options = (common.VizLegendOptions().show_legend(True).display_mode(LegendDisplayMode.TABLE)
                      .placement(LegendPlacement.RIGHT))
    return (timeseries.Panel().title(title).datasource(PROMETHEUS).with_target(_query(expr, legend))
            .unit(unit).span(width).height(8).legend(legend_options).line_width(1).fill_opacity(10))


def _variable(name: str, query: str, label: str) -> gd.QueryVariable:
    return (gd.QueryVariable(name).label(label).datasource(PROMETHEUS).query(query).multi(True).include_all(True)
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC))


def fleet_dashboard(settings: ObservabilitySettings) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (a dict), via the SDK's builders and encoder."""
    cell_row = (
        gd.Row(f"Cell ${CELL}").repeat(CELL)
        .with_panel(_series("Error rate by service (%)", _error_rate(ONE_CELL, SERVICE), f"{{{{{SERVICE}}}}}", "percent"))
        .with_panel(_series("p99 latency by service (ms)", _p99(ONE_CELL, SERVICE), f"{{{{{SERVICE}}}}}", "ms"))
        .with_panel(_series("CPU by service (cores)",
                            f"sum by ({SERVICE}) (rate(container_cpu_usage_seconds_total{{{ONE_CELL}}}[{WINDOW}]))",
                            f"{{{{{SERVICE}}}}}", "short"))
        .with_panel(logs.Panel().title("Logs").datasource(LOKI).span(24).height(8)
                    .show_time(True).wrap_log_message(True).sort_order(LogsSortOrder.DESCENDING)
                    .with_target(loki.Dataquery().expr(f'{{{ONE_CELL}}} | json').ref_id("A")))
    )
    runbook_links: list[Builder[DashboardLinkModel]] = [
        gd.DashboardLink(f"Runbook: {alert.title}").type(DashboardLinkType.LINK)
        .url(f"{settings.runbook_base.rstrip('/')}/{alert.issue.value}?cell_id=${{{CELL}}}").target_blank(True)
        for alert in ALERTS.values()
    ]
    builder = (
        gd.Dashboard("cellfleet: fleet")
        .uid(UID)
        .tags(["cellfleet", "cells"])
        .refresh("1m")
        .time("now-3h", "now")
        .timezone("utc")
        .with_variable(gd.DatasourceVariable("datasource").label("Metrics").type("prometheus"))
        .with_variable(gd.DatasourceVariable("logs").label("Logs").type("loki"))
        .with_variable(_variable(TIER, f"label_values({REQUESTS}, {TIER})", "Tier"))
        .with_variable(_variable(REGION, f'label_values({REQUESTS}{{{TIER}=~"${TIER}"}}, {REGION})', "Region"))
        .with_variable(_variable(CELL, f'label_values({REQUESTS}{{{TIER}=~"${TIER}",{REGION}=~"${REGION}"}}, {CELL})',
                                 "Cell"))
        .link(gd.DashboardLink("CloudWatch: fleet").type(DashboardLinkType.LINK)
              .url(dashboard_url(settings.region, GLOBAL_DASHBOARD)).target_blank(True))
        .links(runbook_links)
        .with_row(gd.Row("Fleet: every selected cell"))
        .with_panel(_series("Error rate per cell (%)", _error_rate(SELECTED, CELL), f"{{{{{CELL}}}}}", "percent"))
        .with_panel(_series("p99 latency per cell (ms)", _p99(SELECTED, CELL), f"{{{{{CELL}}}}}", "ms"))
        .with_panel(_series("Firing alerts by issue type", 'count by (alertname) (ALERTS{alertstate="firing"})',
                            "{{alertname}}", "short"))
        .with_row(cell_row)
    )
    document: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return document


def dashboard_json(settings: ObservabilitySettings) -> str:
    return json.dumps(fleet_dashboard(settings), sort_keys=True, indent=2) + "\n"
