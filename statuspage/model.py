"""The status page's data: what each cell, wave, rollout, migration and flag looks like right now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from model.contract import IssueType, argocd_application, cell_dashboard
from observability.alerts import runbook_url
from observability.links import argocd_app_url, dashboard_url
from observability.settings import ObservabilitySettings


class CellState(StrEnum):
    """The states status pages use, best first."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


_SEVERITY = {state: rank for rank, state in enumerate(CellState)}


def worst(states: list[CellState] | tuple[CellState, ...]) -> CellState:
    return max(states, key=lambda s: s.severity, default=CellState.OPERATIONAL)


@dataclass(frozen=True)
class Observed:
    """What was read from the control plane; empty mappings mean "declared state only".

    `releases`: registry items' releases per service; `rollout`: rollout-state items (plain values);
    `alarms`: alarm name -> state (`OK`, `ALARM`, `INSUFFICIENT_DATA`); `read_at`: when they were read.
    """

    read_at: datetime | None = None
    releases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    rollout: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    alarms: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FlagLine:
    """One feature flag's activation as the status page shows it (`activation.views.FlagStatus`)."""

    key: str
    state: str  # enabled | before start | killed
    stage: str
    percent: int
    scope: str
    allowlist: int
    gate: str


@dataclass(frozen=True)
class Links:
    """Where to drill down from a cell: its dashboard, its Argo CD application, the runbook of each alert."""

    settings: ObservabilitySettings = field(default_factory=ObservabilitySettings)

    def for_cell(self, cell: str) -> dict[str, Any]:
        settings = self.settings
        return {
            "dashboard": dashboard_url(settings.region, cell_dashboard(cell)),
            "argocd": argocd_app_url(settings.argocd_url, argocd_application(cell)),
            "runbooks": {issue.value: runbook_url(settings.runbook_base, issue, cell) for issue in IssueType},
        }


@dataclass(frozen=True)
class CellView:
    id: str
    tier: str
    region: str
    wave: str
    state: CellState
    reasons: tuple[str, ...]
    releases: Mapping[str, str]  # service -> release it runs
    drift: tuple[str, ...]  # services not on the target release
    rollout_status: str | None
    links: Mapping[str, Any]


@dataclass(frozen=True)
class WaveView:
    index: int
    name: str
    state: CellState
    approval: bool
    one_at_a_time: bool
    cells: tuple[CellView, ...]


@dataclass(frozen=True)
class WindowView:
    cell: str
    window: str
    opens: datetime
    closes: datetime


@dataclass(frozen=True)
class RolloutView:
    target: Mapping[str, str]  # service -> target release
    current_wave: str | None
    bake_left_seconds: int | None
    pending_approvals: tuple[str, ...]
    next_window: WindowView | None


@dataclass(frozen=True)
class MigrationLine:
    id: str
    status: str
    percent: int
    done: int
    total: int
    lines: tuple[str, ...]  # the seed's form: bar, Current:, Next:


@dataclass(frozen=True)
class FleetStatus:
    at: datetime
    source: str  # "declared" or "control plane"
    data_as_of: datetime
    state: CellState
    counts: Mapping[str, int]
    services: tuple[str, ...]
    waves: tuple[WaveView, ...]
    rollout: RolloutView
    migrations: tuple[MigrationLine, ...]
    flags: tuple[FlagLine, ...]
