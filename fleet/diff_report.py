"""Render a DiffResult as a sticky PR comment (Markdown) or as JSON for a CI matrix."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from activation.diff import render_flag_changes
from fleet.diff import DiffResult
from fleet.diffing import StackDiff
from model.jsonio import dumps
from model.templating import load_templates

KINDS = ("add", "update", "replace", "delete")


def _cell(value: Any, limit: int = 60) -> str:
    """A value for a Markdown table cell: JSON, shortened, pipes escaped."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # the wire format carries every number as a double
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _summary(stack: StackDiff) -> str:
    if stack.error:
        return "program fails"
    parts = [f"{stack.count(k)} to {k}" for k in KINDS if stack.count(k)]
    return ", ".join(parts)


TEMPLATE = load_templates(  # Markdown: table cells are escaped by `_cell`
    Path(__file__).resolve().parent / "templates", ("diff.md.j2",),
    {"cell": _cell, "code": lambda text: f"`{text}`", "summary": _summary},
)["diff.md.j2"]


def blast_radius(result: DiffResult) -> list[dict[str, Any]]:
    """Changing cells grouped by wave (plan order) and tier, with change counts."""
    order = list(dict.fromkeys(result.waves.values()))
    groups: dict[tuple[str, str], list[StackDiff]] = defaultdict(list)
    for stack in result.stacks:
        groups[(result.waves.get(stack.stack, "none"), result.tiers.get(stack.stack, "removed"))].append(stack)
    rows = []
    for (wave, tier), members in sorted(groups.items(), key=lambda kv: (
            order.index(kv[0][0]) if kv[0][0] in order else len(order), kv[0][1])):
        row: dict[str, Any] = {"wave": wave, "tier": tier, "cells": [s.stack for s in members]}
        for kind in KINDS:
            row[kind] = sum(s.count(kind) for s in members)
        rows.append(row)
    return rows


def render_markdown(result: DiffResult) -> str:
    changes = [(s.stack, c) for s in result.stacks for c in s.changes]
    context = {
        "base": result.base,
        "head": result.head,
        "stacks": result.stacks,
        "total_cells": len(result.tiers),
        "added_cells": result.added_cells,
        "removed_cells": result.removed_cells,
        "totals": {k: sum(s.count(k) for s in result.stacks) for k in KINDS},
        "protected": [(cell, c) for cell, c in changes if c.protected],
        "replacements": [(cell, c) for cell, c in changes if c.kind == "replace" and not c.protected],
        "blast": blast_radius(result),
        "affected": result.affected_stacks,
        "documents": result.documents,
        "tiers": result.tiers,
        "waves": result.waves,
        "notes": result.notes,
        "flags": render_flag_changes(result.flags, result.at or date.min),
    }
    return TEMPLATE.render(**context)


def render_json(result: DiffResult) -> str:
    """Affected stacks as a CI matrix, plus per-cell counts, document changes and flag changes."""
    doc = {
        "base": result.base,
        "head": result.head,
        "affected_stacks": list(result.affected_stacks),
        "matrix": {"stack": list(result.affected_stacks)},
        "removed_stacks": list(result.removed_cells),
        "cells": {
            s.stack: {
                "tier": result.tiers.get(s.stack),
                "wave": result.waves.get(s.stack),
                "error": s.error or None,
                **{k: s.count(k) for k in KINDS},
                "protected": [c.key for c in s.protected_hits],
            }
            for s in result.stacks
        },
        "documents": {d.path: d.status for d in result.documents},
        "unchanged_cells": result.unchanged,
        "flags": [asdict(f) for f in result.flags],
    }
    return dumps(doc)
