"""The plan as people and tools read it: a text table, JSON, and a Mermaid diagram."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from model.durations import format_duration
from model.jsonio import dumps
from pipelines.calendar import WaveTimes, calendar
from pipelines.definitions import definitions
from pipelines.iam import definitions_policy
from pipelines.targets import Targets
from pipelines.waves import Plan, schedule


def _span(value: timedelta) -> str:
    """`timedelta(hours=86, minutes=30)` -> `3d14h30m` (0 -> `0m`)."""
    minutes = int(value.total_seconds()) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return "".join(parts) or "0m"


def _instant(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else None


def _calendar_document(rows: tuple[WaveTimes, ...], start: datetime) -> dict[str, Any]:
    return {"start": _instant(start), "waves": [
        {"name": r.wave.name, "earliest_end": _instant(r.earliest_end), "latest_end": _instant(r.latest_end),
         "cells": [{"cell": c.cell, "window": c.window, "earliest_deploy": _instant(c.earliest),
                    "latest_deploy": _instant(c.latest)} for c in r.cells if c.window is not None]}
        for r in rows]}


def plan_document(plan: Plan, windows: Mapping[str, str] | None = None, start: datetime | None = None) -> dict[str, Any]:
    """The plan with its schedule estimate (and each windowed cell's maintenance window), as plain data.

    With `start` (a rollout's start, aware UTC) it adds the calendar: the schedule with the windows applied.
    """
    windows = windows or {}
    waves = []
    for row in schedule(plan):
        wave = row.wave
        waves.append({
            "windows": {c: windows[c] for c in wave.cells if c in windows},
            "index": wave.index,
            "name": wave.name,
            "cells": list(wave.cells),
            "one_at_a_time": wave.policy.one_at_a_time,
            "max_concurrency": wave.policy.concurrency,
            "approval": wave.policy.approval,
            "notify_customers": wave.policy.notify_customers,
            "bake": {"min": format_duration(wave.policy.bake.min), "max": format_duration(wave.policy.bake.max)},
            "earliest_end": _span(row.earliest_end),
            "latest_end": _span(row.latest_end),
        })
    document: dict[str, Any] = {"cells": len(plan.cell_order), "waves": waves}
    if plan.decommissioning:
        document["decommissioning"] = list(plan.decommissioning)
    if start is not None:
        document["calendar"] = _calendar_document(calendar(plan, windows, start), start)
    return document


def plan_json(plan: Plan, windows: Mapping[str, str] | None = None, start: datetime | None = None) -> str:
    return dumps(plan_document(plan, windows, start))


def _calendar_lines(plan: Plan, windows: Mapping[str, str], start: datetime) -> list[str]:
    """The schedule with the windows applied: each wave's end, each windowed cell's deploy start."""
    def at(value: datetime | None) -> str:
        return value.strftime("%a %Y-%m-%d %H:%M") if value is not None else "never (window shorter than the deploy)"

    lines = ["", f"Calendar for a rollout started {start.strftime('%a %Y-%m-%d %H:%M')} UTC "
                 "(earliest: approvals at once, shortest bakes; latest: approvals at their timeout, longest bakes):"]
    for row in calendar(plan, windows, start):
        lines.append(f"  {row.wave.name}: done {at(row.earliest_end)} .. {at(row.latest_end)}")
        lines.extend(f"    {c.cell} (window {c.window}): deploy starts {at(c.earliest)} .. {at(c.latest)}"
                     for c in row.cells if c.window is not None)
    return lines


def plan_table(plan: Plan, windows: Mapping[str, str] | None = None, start: datetime | None = None) -> str:
    """A fixed-width table: wave, cells, how, bake, earliest and latest completion."""
    header = ("#", "wave", "cells", "how", "bake", "done earliest", "done latest")
    rows = [header]
    for row in schedule(plan):
        policy = row.wave.policy
        how = "one at a time" if policy.one_at_a_time else f"parallel <= {policy.max_concurrency}"
        if policy.approval:
            how += ", approval"
        if policy.notify_customers:
            how += ", notice"
        bake = f"{format_duration(policy.bake.min)}-{format_duration(policy.bake.max)}"
        if policy.one_at_a_time:
            bake += " each"
        rows.append((str(row.wave.index), row.wave.name, str(len(row.wave.cells)), how, bake,
                     _span(row.earliest_end), _span(row.latest_end)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    windows = windows or {}
    listing = [f"{w.name}: {', '.join(f'{c} (window {windows[c]})' if c in windows else c for c in w.cells)}"
               for w in plan.waves]
    if windows and start is None:
        listing.append("Windowed cells deploy only inside their window: a wave may end up to a week later.")
    if plan.decommissioning:
        listing.append(f"decommissioning (in no wave): {', '.join(plan.decommissioning)}")
    if start is not None:
        listing.extend(_calendar_lines(plan, windows, start))
    return "\n".join([*lines, "", *listing]) + "\n"


def plan_mermaid(plan: Plan, max_listed: int = 8, windows: Mapping[str, str] | None = None) -> str:
    """A left-to-right flowchart: one node per wave (cells listed, or counted when many).

    A one-at-a-time wave with approval is drawn cell by cell, each behind its own approval
    (and window), as the pipeline runs it.
    """
    windows = windows or {}
    lines = ["flowchart LR", "  start([release])"]
    previous = "start"
    for row in schedule(plan):
        wave = row.wave
        node = f"w{wave.index}"
        cells = list(wave.cells)
        shown = "<br/>".join(cells) if len(cells) <= max_listed else f"{len(cells)} cells"
        how = "one at a time" if wave.policy.one_at_a_time else f"parallel ≤ {wave.policy.max_concurrency}"
        bake = f"bake {format_duration(wave.policy.bake.min)}–{format_duration(wave.policy.bake.max)}"
        link = f"  {previous} -->|healthy| " if previous != "start" else f"  {previous} --> "
        if wave.policy.one_at_a_time and wave.policy.approval and len(cells) <= max_listed:
            for j, cell in enumerate(cells):
                gate, step = f"{node}a{j}", f"{node}c{j}"
                window = f"<br/>window {windows[cell]}" if cell in windows else ""
                lines.append(f"  {gate}{{{{approval}}}}")
                lines.append(f'  {step}["{wave.name}: {cell}<br/>{bake}{window}"]')
                lines.append(f"{link}{gate}")
                lines.append(f"  {gate} --> {step}")
                link, previous = f"  {step} -->|healthy| ", step
            continue
        lines.append(f'  {node}["{wave.name}<br/>{how}, {bake}<br/>{shown}"]')
        if wave.policy.one_at_a_time and wave.policy.approval:  # too many cells to draw: one gate, looped per cell
            gate = f"{node}a"
            lines.append(f"  {gate}{{{{approval per cell}}}}")
            lines.append(f"{link}{gate}")
            lines.append(f"  {gate} --> {node}")
            lines.append(f"  {node} -->|next cell| {gate}")
            previous = node
            continue
        label = "approval" if wave.policy.approval else "healthy"
        lines.append(f"  {previous} -->|{label}| {node}" if previous != "start" else f"  {previous} --> {node}")
        previous = node
    lines.append("  done([all cells on the release])")
    lines.append(f"  {previous} -->|healthy| done")
    if plan.decommissioning:
        lines.append(f'  retiring["decommissioning, in no wave:<br/>{"<br/>".join(plan.decommissioning)}"]')
    return "\n".join(lines) + "\n"


def pipeline_files(plan: Plan, targets: Targets) -> dict[str, str]:
    """Relative path (under build/) -> text, for every pipeline artefact."""
    docs = definitions(plan, targets)
    files = {f"pipeline/{kind}.asl.json": dumps(doc) for kind, doc in docs.items()}
    files["pipeline/iam-policy.json"] = dumps(definitions_policy(docs, targets))
    files["pipeline/plan.json"] = plan_json(plan)
    files["pipeline/plan.mmd"] = plan_mermaid(plan)
    return files
