"""The status page's outputs: `status.json` (the document) and `index.html`, rendered from that same document."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from model.durations import format_duration
from model.jsonio import dumps
from model.templating import load_templates
from statuspage.assemble import age
from statuspage.model import CellState, CellView, FleetStatus

SCHEMA_VERSION = 1
COLLAPSE_OVER = 50  # fleets larger than this show healthy waves collapsed
_TEMPLATES = load_templates(Path(__file__).parent / "templates", ("index.html.j2",), html=True)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _cell(cell: CellView) -> dict[str, Any]:
    return {
        "id": cell.id, "tier": cell.tier, "region": cell.region, "state": cell.state.value,
        "reasons": list(cell.reasons), "releases": dict(cell.releases), "drift": list(cell.drift),
        "rollout_status": cell.rollout_status, "links": dict(cell.links),
    }


def status_document(status: FleetStatus) -> dict[str, Any]:
    """The `status.json` document (schema: `statuspage/status.schema.json`)."""
    rollout = status.rollout
    window = rollout.next_window
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(status.at),
        "source": status.source,
        "data_as_of": _iso(status.data_as_of),
        "age_seconds": int(age(status).total_seconds()),
        "state": status.state.value,
        "counts": dict(status.counts),
        "services": list(status.services),
        "rollout": {
            "target": dict(rollout.target),
            "current_wave": rollout.current_wave,
            "bake_left_seconds": rollout.bake_left_seconds,
            "pending_approvals": list(rollout.pending_approvals),
            "next_window": None if window is None else {
                "cell": window.cell, "window": window.window, "opens": _iso(window.opens), "closes": _iso(window.closes),
            },
        },
        "waves": [
            {"index": w.index, "name": w.name, "state": w.state.value, "approval": w.approval,
             "one_at_a_time": w.one_at_a_time, "cells": [_cell(c) for c in w.cells]}
            for w in status.waves
        ],
        "migrations": [
            {"id": m.id, "status": m.status, "percent": m.percent, "done": m.done, "total": m.total, "lines": list(m.lines)}
            for m in status.migrations
        ],
        "flags": [
            {"key": f.key, "state": f.state, "stage": f.stage, "percent": f.percent, "scope": f.scope,
             "allowlist": f.allowlist, "gate": f.gate}
            for f in status.flags
        ],
    }


def render_json(document: dict[str, Any]) -> str:
    return dumps(document)


def _label(state: str) -> str:
    return CellState(state).label


def _seconds(value: int | None) -> str:
    from datetime import timedelta

    return "—" if value is None else format_duration(timedelta(seconds=value))


def render_html(document: dict[str, Any]) -> str:
    """The self-contained page (inline CSS and script; readable without JavaScript)."""
    cells = sum(len(w["cells"]) for w in document["waves"])
    return _TEMPLATES["index.html.j2"].render(
        doc=document, label=_label, seconds=_seconds, collapse=cells > COLLAPSE_OVER, cell_count=cells,
    )


def status_files(status: FleetStatus) -> dict[str, str]:
    """`index.html` and `status.json`, by file name."""
    document = status_document(status)
    return {"index.html": render_html(document), "status.json": render_json(document)}
