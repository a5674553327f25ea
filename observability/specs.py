"""Everything the control-plane stack deploys for observability, as plain specs (pure; `stack.py` registers them)."""

from __future__ import annotations

from dataclasses import dataclass

from model.cells import Fleet
from observability.alarms import CompositeSpec, fleet_composites
from observability.cloudwatch import Dashboard, dashboards
from observability.settings import ObservabilitySettings
from observability.views import global_view
from pipelines.waves import Plan


@dataclass(frozen=True)
class ObservabilitySpecs:
    dashboards: tuple[Dashboard, ...]
    composites: tuple[CompositeSpec, ...]


def observability_specs(fleet: Fleet, plan: Plan, settings: ObservabilitySettings) -> ObservabilitySpecs:
    """The global and per-cell dashboards and the fleet-level composite alarms of `fleet` under `plan`."""
    view = global_view(fleet, plan)
    return ObservabilitySpecs(dashboards=tuple(dashboards(view, settings)),
                              composites=tuple(fleet_composites(view, settings)))
