"""The seed's dashboard view of a migration: a progress bar, what runs now, what comes next."""

from __future__ import annotations

from typing import Any

from migrations.planner import MigrationPlan, PhasePlan
from migrations.state import MigrationState, Status
from migrations.transitions import blockers, can_rollback
from model.manifest import PhaseName

BAR_WIDTH = 20


def _verb(phase: PhasePlan) -> str:
    return {
        PhaseName.EXPAND: "Expanding",
        PhaseName.MIGRATE_CODE: f"Deploying {phase.version} to",
        PhaseName.BACKFILL: "Backfilling",
        PhaseName.MIGRATE_CODE_READONLY: f"Deploying {phase.version} to",
        PhaseName.CONTRACT: "Contracting",
    }[phase.name]


def _percent(done: int | None, total: int | None) -> int | None:
    if done is None or not total:
        return None
    return min(100, done * 100 // total)


def status_view(plan: MigrationPlan, state: MigrationState) -> dict[str, Any]:
    """Everything `migrate status` shows, as plain data (the `--format json` document)."""
    pairs = [(p, c) for p in plan.phases for s in p.steps for c in s.cells]
    done = sum(state.get(c, p.name.value).status is Status.COMPLETE for p, c in pairs)
    current, failed = [], []
    for phase, cell in pairs:
        value = state.get(cell, phase.name.value)
        entry = {"cell": cell, "phase": phase.name.value, "rows_done": value.rows_done,
                 "rows_total": value.rows_total, "rows_percent": _percent(value.rows_done, value.rows_total),
                 "verb": _verb(phase)}
        if value.status is Status.RUNNING:
            current.append(entry)
        elif value.status is Status.FAILED:
            failed.append({**entry, "error": value.error})
    upcoming = None
    for phase, cell in pairs:
        if state.get(cell, phase.name.value).status is Status.PENDING:
            upcoming = {"cell": cell, "phase": phase.name.value,
                        "waiting_for": blockers(plan, state, cell, phase.name.value)}
            break
    cells = {}
    for cell in plan.cells:
        started = [p for p in plan.phases if state.get(cell, p.name.value).status is not Status.PENDING]
        phase = started[-1] if started else plan.phases[0]
        value = state.get(cell, phase.name.value)
        cells[cell] = {"phase": phase.name.value, **value.to_dict()}
    unfinished = [p for p in plan.phases if any(state.get(c, p.name.value).status is not Status.COMPLETE
                                                 for c in p.cells)]
    if failed:
        overall = "failed"
    elif done == len(pairs):
        overall = "complete"
    elif done or current:
        overall = "in_progress"
    else:
        overall = "pending"
    return {
        "migration_id": plan.id,
        "status": overall,
        "current_phase": unfinished[0].name.value if unfinished else None,
        "progress": {"done": done, "total": len(pairs), "percent": done * 100 // len(pairs) if pairs else 100},
        "current": current,
        "failed": failed,
        "next": upcoming,
        "can_rollback": can_rollback(plan, state),
        "cells": cells,
        "approvals": [{"phase": p, "cell": c} for p, c in sorted(state.approvals)],
    }


def render_text(view: dict[str, Any]) -> str:
    """The seed's three lines (plus failures), e.g. `Current: Backfilling smb-us-2 (42% of rows)`."""
    prog = view["progress"]
    filled = prog["done"] * BAR_WIDTH // prog["total"] if prog["total"] else BAR_WIDTH
    lines = [f"{'█' * filled}{'░' * (BAR_WIDTH - filled)} {prog['percent']}% complete "
             f"({prog['done']}/{prog['total']} cell-phases)"]
    for item in view["current"]:
        rows = f" ({item['rows_percent']}% of rows)" if item["rows_percent"] is not None else ""
        lines.append(f"Current: {item['verb']} {item['cell']}{rows}")
    if not view["current"]:
        lines.append("Current: nothing running")
    for item in view["failed"]:
        lines.append(f"Failed: {item['phase']} on {item['cell']}" + (f": {item['error']}" if item["error"] else ""))
    upcoming = view["next"]
    if upcoming is None:
        lines.append("Next: nothing, every cell has finished every phase")
    else:
        waiting = ", ".join(upcoming["waiting_for"])
        lines.append(f"Next: {upcoming['cell']} {upcoming['phase']} "
                     + (f"(waiting for {waiting})" if waiting else "(ready)"))
    lines.append(f"Rollback: {'possible' if view['can_rollback'] else 'no longer possible (contract started)'}")
    return "\n".join(lines) + "\n"
