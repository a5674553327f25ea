"""For teams on Prometheus: alerting rules with a `cell_id` label and `runbook_url`, and the Alertmanager config.

Alertmanager groups by issue type (`[alertname, service]`), so the same alert from N cells is
one notification listing the N cells, and a cell being deployed (`CellDeploying`) inhibits
that cell's alerts. Documents are built as dicts and dumped as YAML.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

from model.contract import CELL_TELEMETRY, IssueType
from observability.alerts import ALERTS, DEPLOYING_ALERT, runbook_url
from observability.settings import ObservabilitySettings

CELL = CELL_TELEMETRY["cell_id"].label
SERVICE = CELL_TELEMETRY["service"].label
WINDOW = "5m"
FOR = "3m"  # the CloudWatch alarms' 3 of 5 one-minute datapoints
PAGE = "page"
GROUP_BY = ["alertname", SERVICE]

# Metric names the services export (OpenTelemetry SDK -> Prometheus), every series carrying cell_id and service.
REQUESTS = "cellfleet_requests_total"
ERRORS = "cellfleet_errors_total"
DURATION = "cellfleet_request_duration_seconds_bucket"
DEPLOYING = "cellfleet_cell_deploying"  # 1 while the pipeline deploys the cell (the deployer sets it)

_EXPRESSIONS = {
    IssueType.ERROR_RATE: (f"100 * sum by ({CELL}, {SERVICE}) (rate({ERRORS}[{WINDOW}]))"
                           f" / sum by ({CELL}, {SERVICE}) (rate({REQUESTS}[{WINDOW}])) > {{threshold:g}}"),
    IssueType.P99_LATENCY: (f"1000 * histogram_quantile(0.99, sum by ({CELL}, {SERVICE}, le) "
                            f"(rate({DURATION}[{WINDOW}]))) > {{threshold:g}}"),
}


def _yaml(document: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def alerting_rules(settings: ObservabilitySettings) -> dict[str, Any]:
    """One alerting rule per issue type, by cell and service, plus the deploy marker that inhibits them."""
    cell_template = "{{$labels." + CELL + "}}"
    rules: list[dict[str, Any]] = []
    for issue, alert in ALERTS.items():
        rules.append({
            "alert": alert.prometheus_name,
            "expr": _EXPRESSIONS[issue].format(threshold=alert.threshold),
            "for": FOR,
            "labels": {"severity": PAGE, "issue_type": issue.value},
            "annotations": {
                "summary": f"{alert.title} in cell {{{{ $labels.{CELL} }}}} ({{{{ $labels.{SERVICE} }}}})",
                "description": f"{alert.meaning}: {{{{ $value | printf \"%.2f\" }}}} {alert.unit} "
                               f"(threshold {alert.threshold:g} {alert.unit}).",
                "runbook_url": runbook_url(settings.runbook_base, issue, cell_template),
            },
        })
    rules.append({
        "alert": DEPLOYING_ALERT,
        "expr": f"max by ({CELL}) ({DEPLOYING}) == 1",
        "labels": {"severity": "info"},
        "annotations": {"summary": f"Cell {{{{ $labels.{CELL} }}}} is being deployed; its alerts are inhibited"},
    })
    return {"groups": [{"name": "cellfleet-cells", "rules": rules}]}


def alertmanager_config(webhook_url: str, *, group_wait: str = "30s", group_interval: str = "5m",
                        repeat_interval: str = "4h") -> dict[str, Any]:
    """Page once per issue type (grouped by alertname and service); never page a cell being deployed."""
    return {
        "route": {
            "receiver": "fleet-pager",
            "group_by": GROUP_BY,
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
            "routes": [{"receiver": "silent", "matchers": ['severity="info"']}],
        },
        "receivers": [
            {"name": "fleet-pager", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]},
            {"name": "silent"},
        ],
        "inhibit_rules": [{
            "source_matchers": [f'alertname="{DEPLOYING_ALERT}"'],
            "target_matchers": [f'severity="{PAGE}"'],
            "equal": [CELL],
        }],
    }


def rules_yaml(settings: ObservabilitySettings) -> str:
    return _yaml(alerting_rules(settings))


def alertmanager_yaml(webhook_url: str, **timings: str) -> str:
    return _yaml(alertmanager_config(webhook_url, **timings))
