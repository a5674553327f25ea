"""The alert catalogue: one alert per issue type, under the names each backend knows it by."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from model.contract import ERROR_RATE_PERCENT, P99_LATENCY_MS, IssueType


@dataclass(frozen=True)
class Alert:
    """One issue type: its Prometheus alert name, what it means, its threshold, the first checks."""

    issue: IssueType
    prometheus_name: str
    title: str
    meaning: str
    threshold: float
    unit: str
    checks: tuple[str, ...]


ALERTS: dict[IssueType, Alert] = {
    IssueType.ERROR_RATE: Alert(
        issue=IssueType.ERROR_RATE,
        prometheus_name="CellErrorRate",
        title="Error rate above threshold",
        meaning="The share of failed requests of a service in the cell is above the rollout threshold",
        threshold=ERROR_RATE_PERCENT,
        unit="%",
        checks=(
            "Is a rollout under way in this cell? A deploy in progress inhibits the alert; a finished one is the first suspect.",
            "Which services fail? The per-service error-rate widgets of the cell dashboard.",
            "Which customers? The customer-impact widget counts the affected accounts.",
            "What do the logs say? Run the logs query below.",
        ),
    ),
    IssueType.P99_LATENCY: Alert(
        issue=IssueType.P99_LATENCY,
        prometheus_name="CellP99Latency",
        title="p99 latency above threshold",
        meaning="The 99th percentile request latency of a service in the cell is above the rollout threshold",
        threshold=P99_LATENCY_MS,
        unit="ms",
        checks=(
            "Is a rollout under way in this cell? A deploy in progress inhibits the alert.",
            "Is the cell saturated? Node and pod CPU on the cell dashboard; the autoscaler's replica count.",
            "Is the database slow? Aurora metrics and the slow-query log of the cell.",
            "What do the logs say? Run the logs query below.",
        ),
    ),
}

DEPLOYING_ALERT = "CellDeploying"  # raised while the pipeline deploys a cell; inhibits that cell's alerts


def runbook_url(base: str, issue: IssueType, cell_id: str) -> str:
    """The runbook of `issue` for one cell (the `cell_id` may be a Prometheus template)."""
    return f"{base.rstrip('/')}/{issue.value}?cell_id={quote(cell_id, safe='{}$.')}"
