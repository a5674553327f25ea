"""Allowed state changes: no skipped phase, rollout order within a phase, approvals, contract gate.

* a phase starts on a cell only when the cell finished the previous phase, every cell of the
  earlier steps finished this phase, the step has room (`parallel_cells`) and, where the step
  requires it, approval is recorded;
* `contract` starts on a cell when that cell finished `migrate-code-readonly` and its step's
  bake has passed (per-cell fencing: each cell has its own database), and, for enterprise cells,
  approval is recorded;
* rollback undoes a cell's latest phase, in reverse order, and only while no cell has started
  `contract` (the point of no return).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from migrations.planner import MigrationPlan, PhasePlan
from migrations.state import CellPhase, MigrationState, Status
from model.cells import Tier
from model.manifest import PhaseName


class TransitionError(Exception):
    """A command that the migration's state does not allow."""


def _phase(plan: MigrationPlan, name: str) -> PhasePlan:
    try:
        return plan.phase(name)
    except (KeyError, ValueError):
        known = ", ".join(p.name.value for p in plan.phases)
        raise TransitionError(f"unknown phase {name!r} (phases: {known})") from None


def _cell(plan: MigrationPlan, cell: str) -> None:
    if cell not in plan.cells:
        raise TransitionError(f"cell {cell!r} is not part of migration {plan.id}")


def can_rollback(plan: MigrationPlan, state: MigrationState) -> bool:
    """True until any cell has started `contract`."""
    if not any(p.name is PhaseName.CONTRACT for p in plan.phases):
        return True
    return all(state.get(c, PhaseName.CONTRACT.value).status is Status.PENDING for c in plan.cells)


def _unbaked(plan: MigrationPlan, state: MigrationState, cell: str, at: str) -> list[str]:
    """Per-cell fencing: the cell's own read-only code must have baked for its step's wait before contract.

    Each cell has its own database and no cross-cell calls, so no other cell's code matters here.
    """
    readonly = PhaseName.MIGRATE_CODE_READONLY.value
    if not any(p.name.value == readonly for p in plan.phases):
        return []
    ended = state.get(cell, readonly).ended_at
    if ended is None:
        return []  # not complete: the previous-phase rule already says so
    ready = _time(ended) + plan.phase(readonly).step_of(cell).wait
    if _time(at) < ready:
        return [f"{readonly} on {cell} to bake until {ready.isoformat().replace('+00:00', 'Z')}"]
    return []


def _time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def blockers(plan: MigrationPlan, state: MigrationState, cell: str, phase_name: str,
             at: str | None = None) -> list[str]:
    """Why `phase` cannot start on `cell` now (`at`, when the bake matters); empty when it may."""
    _cell(plan, cell)
    phase = _phase(plan, phase_name)
    out: list[str] = []
    index = plan.phases.index(phase)
    if index > 0:
        previous = plan.phases[index - 1].name.value
        if state.get(cell, previous).status is not Status.COMPLETE:
            out.append(f"{previous} on {cell}")
    step = phase.step_of(cell)
    earlier = [c for s in phase.steps[: step.index] for c in s.cells
               if state.get(c, phase.name.value).status is not Status.COMPLETE]
    out.extend(earlier)
    running = [c for c in step.cells if c != cell and state.get(c, phase.name.value).status is Status.RUNNING]
    if step.concurrency and len(running) >= step.concurrency:
        out.extend(running)
    if needs_approval(plan, phase, cell) and (phase.name.value, cell) not in state.approvals:
        out.append("approval")
    if phase.name is PhaseName.CONTRACT and at is not None:
        out.extend(_unbaked(plan, state, cell, at))
    return out


def start(plan: MigrationPlan, state: MigrationState, cell: str, phase: str, at: str) -> MigrationState:
    current = state.get(cell, phase)
    if current.status not in {Status.PENDING, Status.FAILED}:
        raise TransitionError(f"{phase} on {cell} is {current.status.value}, not pending or failed")
    waiting = blockers(plan, state, cell, phase, at)
    if waiting:
        raise TransitionError(f"{phase} cannot start on {cell}: waiting for {', '.join(waiting)}")
    return state.put(cell, phase, CellPhase(Status.RUNNING, current.rows_done, current.rows_total, at))


def progress(state: MigrationState, cell: str, phase: str, rows_done: int | None,
             rows_total: int | None) -> MigrationState:
    current = state.get(cell, phase)
    if current.status is not Status.RUNNING:
        raise TransitionError(f"{phase} on {cell} is {current.status.value}, not running")
    if (rows_done is not None and rows_done < 0) or (rows_total is not None and rows_total < 0):
        raise TransitionError("row counts cannot be negative")
    done = rows_done if rows_done is not None else current.rows_done
    total = rows_total if rows_total is not None else current.rows_total
    if done is not None and total is not None and done > total:
        raise TransitionError(f"rows done ({done}) cannot exceed rows in total ({total})")
    if rows_done is not None and current.rows_done is not None and rows_done < current.rows_done:
        raise TransitionError(f"rows done cannot go backwards ({current.rows_done} recorded, {rows_done} given)")
    return state.put(cell, phase, replace(current, rows_done=done, rows_total=total))


def complete(state: MigrationState, cell: str, phase: str, at: str) -> MigrationState:
    current = state.get(cell, phase)
    if current.status is not Status.RUNNING:
        raise TransitionError(f"{phase} on {cell} is {current.status.value}, not running")
    return state.put(cell, phase, replace(current, status=Status.COMPLETE, ended_at=at, error=None))


def fail(plan: MigrationPlan, state: MigrationState, cell: str, phase: str | None, at: str,
         reason: str) -> MigrationState:
    _cell(plan, cell)
    name = phase or next((p.name.value for p in plan.phases if state.get(cell, p.name.value).status
                          is Status.RUNNING), None)
    if name is None:
        raise TransitionError(f"nothing is running on {cell}")
    _phase(plan, name)
    current = state.get(cell, name)
    if current.status is not Status.RUNNING:
        raise TransitionError(f"{name} on {cell} is {current.status.value}, not running")
    return state.put(cell, name, replace(current, status=Status.FAILED, ended_at=at, error=reason))


def needs_approval(plan: MigrationPlan, phase: PhasePlan, cell: str) -> bool:
    """The step's `requires_approval`, and every enterprise cell's contract."""
    return phase.step_of(cell).approval or (phase.name is PhaseName.CONTRACT and plan.tiers.get(cell) is Tier.ENTERPRISE)


def approve(plan: MigrationPlan, state: MigrationState, phase: str, cells: list[str]) -> MigrationState:
    gated = _phase(plan, phase)
    for cell in cells:
        _cell(plan, cell)
        if not needs_approval(plan, gated, cell):
            raise TransitionError(f"{phase} on {cell} has no approval gate")
        state = state.approve(phase, cell)
    return state


def rollback(plan: MigrationPlan, state: MigrationState, cell: str, phase: str | None) -> MigrationState:
    """Mark the cell's latest started phase pending again (the operator has undone it)."""
    _cell(plan, cell)
    if not can_rollback(plan, state):
        raise TransitionError("rollback is no longer possible: contract has started (point of no return)")
    started = [p.name.value for p in plan.phases if state.get(cell, p.name.value).status is not Status.PENDING]
    if not started:
        raise TransitionError(f"nothing to roll back on {cell}")
    name = phase or started[-1]
    _phase(plan, name)
    if name not in started:
        raise TransitionError(f"{name} has not started on {cell}")
    if name != started[-1]:
        raise TransitionError(f"roll back {started[-1]} on {cell} first")
    return state.put(cell, name, CellPhase())


def advance(plan: MigrationPlan, state: MigrationState, cell: str, *, phase: str | None = None,
            status: str | None = None, rows_done: int | None = None, rows_total: int | None = None,
            at: str) -> MigrationState:
    """The `migrate advance` command: start, report progress on, or complete a cell's phase."""
    _cell(plan, cell)
    if phase is None:
        phase = next((p.name.value for p in plan.phases if state.get(cell, p.name.value).status
                      is not Status.COMPLETE), None)
        if phase is None:
            raise TransitionError(f"every phase is complete on {cell}")
    _phase(plan, phase)
    current = state.get(cell, phase).status
    target = Status(status) if status else None
    if target is None:
        if current is Status.RUNNING and (rows_done is not None or rows_total is not None):
            target = Status.RUNNING
        else:
            target = Status.COMPLETE if current is Status.RUNNING else Status.RUNNING
    if target is Status.RUNNING:
        if current is not Status.RUNNING:
            state = start(plan, state, cell, phase, at)
        if rows_done is not None or rows_total is not None:
            state = progress(state, cell, phase, rows_done, rows_total)
        return state
    if target is Status.COMPLETE:
        if rows_done is not None or rows_total is not None:
            state = progress(state, cell, phase, rows_done, rows_total)
        return complete(state, cell, phase, at)
    raise TransitionError(f"advance cannot set {target.value}; use `migrate fail` or `migrate rollback`")
