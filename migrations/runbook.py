"""Runbooks: a migration plan -> Markdown (jinja2 template beside this module), fleet-wide or per cell."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from migrations.commands import cell_commands, checks, rollbacks
from migrations.planner import PLATFORM, MigrationPlan, PhasePlan
from migrations.schedule import StepTime, default_start, estimate
from model.durations import format_duration
from model.manifest import PhaseName, PhaseType
from model.templating import load_templates

PLACEHOLDER_CELL = "<cell>"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def markdown_text(text: str) -> str:
    """Input text as inert Markdown on one line: special characters escaped, line breaks flattened."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


TEMPLATE = load_templates(
    Path(__file__).resolve().parent / "templates",
    ("runbook.md.j2",),
    {"md": markdown_text, "duration": lambda d: format_duration(d) if d else "—", "when": lambda t: t.strftime("%Y-%m-%d %H:%M")},
)["runbook.md.j2"]


def _what(plan: MigrationPlan, phase: PhasePlan) -> str:
    change = plan.migration.change
    new = ", ".join(f"`{change.table}.{c}`" for c in change.columns.values())
    old = ", ".join(f"`{change.table}.{c}`" for c in change.columns)
    return {
        PhaseName.EXPAND: f"Add {new} beside {old}, nullable: the running code ignores it.",
        PhaseName.MIGRATE_CODE: f"Deploy {phase.version}: writes both {old} and {new} (dual-write), "
        f"reads {new} and falls back to {old}.",
        PhaseName.BACKFILL: f"Copy {old} into {new} for existing rows"
        + (" with the migration's own script" if phase.scripts else
           ": keyset batches sized to a 0.5 s target (never above 2 s), rows updated only where they "
           "differ, the checkpoint committed with each batch, backing off while the database is loaded")
        + f"; at most {phase.parallel_cells or 'all'} cells at once.",
        PhaseName.MIGRATE_CODE_READONLY: f"Deploy {phase.version}: reads and writes only {new}.",
        PhaseName.CONTRACT: f"Drop {old}. This is the point of no return.",
    }[phase.name]


def _gantt(times: list[StepTime]) -> list[str]:
    lines: list[str] = []
    section = None
    for n, t in enumerate(times):
        if t.phase.name != section:
            section = t.phase.name
            lines.append(f"section {section.value}")
        label = t.step.label.replace(":", " ").replace("#", " ")
        if t.step.approval:
            lines.append(f"approve {label} :milestone, a{n}, {t.start:%Y-%m-%d %H:%M}, 0d")
        lines.append(f"{label} :s{n}, {t.start:%Y-%m-%d %H:%M}, {t.end:%Y-%m-%d %H:%M}")
        if t.step.wait:
            lines.append(f"wait {format_duration(t.step.wait)} :w{n}, {t.end:%Y-%m-%d %H:%M}, {t.ready:%Y-%m-%d %H:%M}")
    return lines


def _cell_row(plan: MigrationPlan, phase: PhasePlan, cell: str, texts: Mapping[str, str]) -> dict[str, Any]:
    return {"id": cell, "engine": plan.engines[cell].value, "commands": cell_commands(plan, phase, cell, texts)}


def _phase_view(plan: MigrationPlan, phase: PhasePlan, times: list[StepTime], texts: Mapping[str, str],
                cell: str | None) -> dict[str, Any]:
    before, after = checks(plan, phase)
    engines = [plan.engines[cell]] if cell else list(plan.engines_used)
    target = cell or PLACEHOLDER_CELL

    def check_view(items: list[Any]) -> list[dict[str, Any]]:
        return [{"description": c.description, "expect": c.expect,
                 "commands": [(e.value, c.command(plan, target, e)) for e in engines] if c.sql
                 else [("any engine", c.command(plan, target, engines[0]))]}
                for c in items]

    steps = []
    for t in times:
        if t.phase is not phase or (cell and cell not in t.step.cells):
            continue
        shown = [cell] if cell else list(t.step.cells)
        steps.append({"time": t, "cells": [_cell_row(plan, phase, c, texts) for c in shown]})
    return {
        "number": plan.phases.index(phase) + 1,
        "name": phase.name.value,
        "type": phase.type.value,
        "what": _what(plan, phase),
        "scripts": [(e.value, p) for e, p in phase.scripts.items() if not cell or e is plan.engines[cell]],
        "version": phase.version,
        "before": check_view(before),
        "after": check_view(after),
        "steps": steps,
    }


def runbook_context(plan: MigrationPlan, texts: Mapping[str, str], *, cell: str | None = None,
                    start: datetime | None = None) -> dict[str, Any]:
    """Everything the template shows; pure."""
    times = estimate(plan, start or default_start(plan))
    if cell:
        times = [t for t in times if cell in t.step.cells]
    change = plan.migration.change
    engines = Counter(plan.engines[c].value for c in plan.cells)
    approvals = [t for t in times if t.step.approval]
    waits = sum((t.step.wait for t in times), timedelta(0))
    contract = [t for t in times if t.phase.name is PhaseName.CONTRACT]
    return {
        "m": plan.migration,
        "source": plan.source,
        "cell": {"id": cell, "engine": plan.engines[cell].value,
                 "tier": plan.tiers[cell].value if cell in plan.tiers else PLATFORM} if cell else None,
        "platform": plan.platform,
        "changes": [(f"{change.table}.{old}", f"{change.table}.{new}") for old, new in change.columns.items()],
        "cells": [cell] if cell else list(plan.cells),
        "engines": sorted(engines.items()),
        "phases_line": " → ".join(p.name.value for p in plan.phases),
        "start": times[0].start if times else None,
        "end": times[-1].ready if times else None,
        "approvals": approvals,
        "waits": waits,
        "contract_start": contract[0].start if contract else None,
        "times": times,
        "gantt": _gantt(times),
        "phases": [_phase_view(plan, p, times, texts, cell) for p in plan.phases],
        "rollbacks": rollbacks(plan),
        "deployment": PhaseType.DEPLOYMENT.value,
    }


def render_runbook(plan: MigrationPlan, *, cell: str | None = None, start: datetime | None = None) -> str:
    """The runbook Markdown (per cell when `cell` is given)."""
    if cell is not None and cell not in plan.cells:
        raise KeyError(cell)
    context = runbook_context(plan, plan.texts, cell=cell, start=start)
    return TEMPLATE.render(**context)
