"""`fleet_status`: the one status model from the plan, the declared cells and whatever was observed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from activation.plans import PlannedFlag
from activation.views import status_rows
from migrations.planner import MigrationPlan
from migrations.progress import render_text, status_view
from migrations.state import MigrationState, Status
from model.cells import Cell, Fleet
from model.contract import RolloutStatus, error_rate_alarm, health_alarm, latency_alarm
from model.versions import release_key
from model.windows import next_opening
from pipelines.waves import Plan, Wave
from statuspage.model import (
    CellState,
    CellView,
    FlagLine,
    FleetStatus,
    Links,
    MigrationLine,
    Observed,
    RolloutView,
    WaveView,
    WindowView,
    worst,
)

IN_PROGRESS = {RolloutStatus.DEPLOYING.value, RolloutStatus.BAKING.value, RolloutStatus.ROLLING_BACK.value}


def targets(fleet: Fleet, observed: Observed) -> dict[str, str]:
    """Per service, the release the fleet converges to: a running rollout's version, else the newest declared."""
    rolling = sorted({str(item["target_version"]) for item in observed.rollout.values()
                      if item.get("status") in IN_PROGRESS and item.get("target_version")}, key=release_key)
    declared: dict[str, set[str]] = {}
    for cell in fleet.cells:
        for product, service in cell.services.items():
            declared.setdefault(product.value, set()).add(service.release)
    newest = {product: max(releases, key=release_key) for product, releases in declared.items()}
    if rolling:
        return dict.fromkeys(newest, rolling[-1])
    return dict(sorted(newest.items()))


def running_releases(cell: Cell, observed: Observed) -> dict[str, str]:
    """What the cell runs: the pipeline's deployed version, else the registry's, else what the file declares."""
    declared = {p.value: s.release for p, s in sorted(cell.services.items())}
    registry = observed.releases.get(cell.id)
    if registry:
        declared = {p: str(registry.get(p, r)) for p, r in declared.items()}
    deployed = observed.rollout.get(cell.id, {}).get("deployed_version")
    if deployed and deployed != "none":
        declared = dict.fromkeys(declared, str(deployed))
    return declared


def cell_state(cell: Cell, observed: Observed, migrating: set[str]) -> tuple[CellState, tuple[str, ...]]:
    """The cell's status-page state and the reasons for it (alarms, rollout state, running migrations)."""
    found: list[tuple[CellState, str]] = []
    alarms = observed.alarms
    status = observed.rollout.get(cell.id, {}).get("status")
    if status == RolloutStatus.ROLLBACK_FAILED.value:
        found.append((CellState.MAJOR_OUTAGE, "rollback failed: a person must act"))
    errors = alarms.get(error_rate_alarm(cell.id)) == "ALARM"
    latency = alarms.get(latency_alarm(cell.id)) == "ALARM"
    if errors and latency:
        found.append((CellState.MAJOR_OUTAGE, "error rate and p99 latency alarms"))
    elif errors:
        found.append((CellState.PARTIAL_OUTAGE, "error rate alarm"))
    elif latency:
        found.append((CellState.DEGRADED, "p99 latency alarm"))
    elif alarms.get(health_alarm(cell.id)) == "ALARM":
        found.append((CellState.PARTIAL_OUTAGE, "health alarm"))
    if status == RolloutStatus.ROLLED_BACK.value:
        found.append((CellState.DEGRADED, "rolled back to the previous release"))
    if status in IN_PROGRESS:
        found.append((CellState.UNDER_MAINTENANCE, f"rollout: {status.replace('_', ' ')}"))
    if cell.id in migrating:
        found.append((CellState.UNDER_MAINTENANCE, "migration running"))
    if not found:
        return CellState.OPERATIONAL, ()
    found.sort(key=lambda item: -item[0].severity)
    return found[0][0], tuple(reason for _, reason in found)


def _bake_left(wave: Wave, items: Iterable[dict[str, object]], at: datetime) -> int | None:
    left = []
    for item in items:
        if item.get("status") == RolloutStatus.BAKING.value and item.get("updated_at"):
            since = datetime.fromisoformat(str(item["updated_at"]).replace("Z", "+00:00"))
            left.append(max(0, int((since + wave.policy.bake.max - at).total_seconds())))
    return max(left) if left else None


def _next_window(fleet: Fleet, at: datetime) -> WindowView | None:
    openings = [(next_opening(c.maintenance_window, at), c) for c in fleet.cells
                if c.is_enterprise and c.maintenance_window]
    if not openings:
        return None
    (opens, closes), cell = min(openings, key=lambda item: (item[0][0], item[1].id))
    return WindowView(cell.id, str(cell.maintenance_window), opens, closes)


def rollout_view(fleet: Fleet, plan: Plan, cells: dict[str, CellView], observed: Observed,
                 target: dict[str, str], at: datetime) -> RolloutView:
    """Where the fleet is in converging on the target: the current wave, bake left, approvals due."""
    current: Wave | None = None
    for wave in plan.waves:
        if any(cells[c].drift or cells[c].rollout_status in IN_PROGRESS for c in wave.cells):
            current = wave
            break
    pending: list[str] = []
    bake_left = None
    if current is not None:
        items = [dict(observed.rollout.get(c, {})) for c in current.cells]
        bake_left = _bake_left(current, items, at)
        if current.policy.approval:
            pending = [c for c in current.cells if cells[c].drift and cells[c].rollout_status not in IN_PROGRESS][:1]
    return RolloutView(target, current.name if current else None, bake_left, tuple(pending), _next_window(fleet, at))


def migration_line(plan: MigrationPlan, state: MigrationState) -> MigrationLine:
    view = status_view(plan, state)
    progress = view["progress"]
    return MigrationLine(plan.id, view["status"], progress["percent"], progress["done"], progress["total"],
                         tuple(render_text(view).splitlines()))


def fleet_status(fleet: Fleet, plan: Plan, at: datetime, observed: Observed | None = None,
                 migrations: tuple[tuple[MigrationPlan, MigrationState], ...] = (),
                 flags: tuple[PlannedFlag, ...] = (), links: Links | None = None) -> FleetStatus:
    """Everything the status page shows, as of `at` (an aware UTC datetime)."""
    observed = observed or Observed()
    links = links or Links()
    migrating = {cell for _, state in migrations for cell, phases in state.cells.items()
                 if any(p.status is Status.RUNNING for p in phases.values())}
    target = targets(fleet, observed)
    cells: dict[str, CellView] = {}
    for cell in fleet.cells:
        releases = running_releases(cell, observed)
        state, reasons = cell_state(cell, observed, migrating)
        drift = tuple(p for p, r in releases.items() if target.get(p) not in (None, r))
        status = observed.rollout.get(cell.id, {}).get("status")
        cells[cell.id] = CellView(cell.id, cell.tier.value, cell.region, plan.wave_of(cell.id).name, state, reasons,
                                  releases, drift, str(status) if status else None, links.for_cell(cell.id))
    waves = tuple(
        WaveView(w.index, w.name, worst([cells[c].state for c in w.cells]), w.policy.approval, w.policy.one_at_a_time,
                 tuple(cells[c] for c in w.cells))
        for w in plan.waves
    )
    counts = Counter(c.state.value for c in cells.values())
    return FleetStatus(
        at=at,
        source="control plane" if observed.read_at else "declared",
        data_as_of=observed.read_at or at,
        state=worst([c.state for c in cells.values()]),
        counts={s.value: counts.get(s.value, 0) for s in CellState},
        services=tuple(sorted({p for c in cells.values() for p in c.releases})),
        waves=waves,
        rollout=rollout_view(fleet, plan, cells, observed, target, at),
        migrations=tuple(migration_line(p, s) for p, s in migrations),
        flags=flag_lines(flags, cells, at),
    )


def flag_lines(flags: tuple[PlannedFlag, ...], cells: dict[str, CellView], at: datetime) -> tuple[FlagLine, ...]:
    """Each flag's stage on the day of `at`, gated on the releases the page shows the cells running."""
    running = {cell_id: dict(view.releases) for cell_id, view in cells.items()}
    return tuple(FlagLine(r.key, r.state, r.stage, r.percent, r.scope, r.allowlist, r.gate)
                 for r in status_rows(flags, running, at.date()))


def age(status: FleetStatus) -> timedelta:
    """How old the data is at the time the page was made."""
    return status.at - status.data_as_of
