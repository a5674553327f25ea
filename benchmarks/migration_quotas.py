"""The migration orchestrator against every Step Functions quota, at 10, 300 and 10,000 cells.

The sample migration (`2025-01-15-recipient-id-column`, its globs rewritten for synthetic ids) on
synthetic fleets (1 canary per 1,000, 10 % enterprise, the rest SMB; the packaged default policy):

* definition size (quota 1 MB) — `migrations.orchestrator.definition`, as the stack deploys it;
* execution input (256 KiB) and the largest state's data: the `run` execution's state after its
  rules are added (input + compiled facts), and a child's input (one batch);
* history events per execution (25,000): the `run` execution and the largest `cells` child, on
  the happy path, counted state by state with `pipelines.history`'s per-state figures. The gate
  polls come from a lane schedule: each phase's lane walks its steps and batches with the
  schedule's per-cell estimates, and waits at a batch's gate until the previous phase has
  released every cell of it (polls after 60 s, 120 s, 240 s, ... up to every 8 h 32 min);
* Map concurrency: the largest MaxConcurrency of any Map (an inline Map runs at most 40 at once);
* execution duration (Standard workflows: one year), from the same lane schedule.

A figure passes at most half its quota. Run: `.venv/bin/python -m benchmarks.migration_quotas [--json]`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from migrations.orchestrator import (
    INLINE_MAP_LIMIT,
    MAX_BATCH,
    POLL_MAX_SECONDS,
    POLL_SECONDS,
    Segment,
    definition,
    execution_input,
    facts,
    segments,
)
from migrations.planner import MigrationPlan
from migrations.schedule import default_start, per_cell
from pipelines.history import CALLBACK, EXECUTION, FLOW, HISTORY_QUOTA, ITERATION, MAP, TASK
from pipelines.inputs import INPUT_QUOTA
from tests.migrations.synthetic import synthetic_migration

SIZES = (10, 300, 10_000)
DEFINITION_QUOTA = 1024 * 1024
STATE_QUOTA = 256 * 1024
DURATION_QUOTA = timedelta(days=365)


def gate_polls(wait: timedelta) -> int:
    """Reads of a closed gate before it opens: waits of 60 s, 120 s, 240 s, ... (at most 8 h 32 min) cover `wait`."""
    seconds, polls, step = wait.total_seconds(), 0, POLL_SECONDS
    while seconds > 0:
        seconds -= step
        polls += 1
        step = min(2 * step, POLL_MAX_SECONDS)
    return polls


def cell_events(fact: dict[str, Any], step: dict[str, Any]) -> int:
    """Events one cell adds to its `cells` child (happy path)."""
    events = ITERATION + 3 * FLOW + FLOW  # engine, MySQL?, engine facts; approval?
    if step["cell_approval"]:
        events += CALLBACK + TASK
    elif step["approval"]:
        events += TASK
    events += TASK + FLOW + CALLBACK + FLOW + TASK + FLOW  # running, type?, request, rows?, complete, release?
    if fact["release"] == "complete":
        events += TASK + FLOW
    if step["each"]:
        events += FLOW + FLOW + (TASK if fact["release"] == "baked" else 0)
    return events + FLOW  # ok


@dataclass
class Lanes:
    """The happy path of every lane: events of the `run` execution, the largest child, and when it ends."""

    run_events: int
    child_events: int
    child: str
    end: datetime
    polls: int


def lanes(plan: MigrationPlan, max_batch: int = MAX_BATCH) -> Lanes:
    compiled = facts(plan)
    start = default_start(plan)
    released: dict[str, datetime] = {}
    run = EXECUTION + 2 * FLOW + MAP + FLOW  # mode?, rules, phases, done
    child, child_name, end, total_polls = 0, "", start, 0
    for p, (phase, fact) in enumerate(zip(plan.phases, compiled, strict=True)):
        each_cell = per_cell(plan, phase)
        clock, now_released = start, dict[str, datetime]()
        run += ITERATION + MAP
        for seg, step in zip(segments(phase), fact["steps"], strict=True):
            run += ITERATION + 2 * FLOW + (CALLBACK if step["approval"] else 0) + MAP
            batches = [seg.cells[i:i + max_batch] for i in range(0, len(seg.cells), max_batch)]
            for batch in batches:
                run += ITERATION + FLOW + CALLBACK + 2 * FLOW  # gated?, child, outcome, ok
                if p:
                    opens = max(released[c] for c in batch)
                    polls = gate_polls(opens - clock) if opens > clock else 0
                    total_polls += polls
                    run += FLOW + polls * (TASK + 6 * FLOW) + TASK + 3 * FLOW
                    clock = max(clock, opens)
                clock = _work(seg, batch, each_cell, clock, fact, now_released)
                events = EXECUTION + FLOW + MAP + FLOW + len(batch) * cell_events(fact, step)
                if events > child:
                    child, child_name = events, f"{phase.name.value} / {seg.label}"
            run += 2 * FLOW + FLOW
            if not seg.each:
                clock += timedelta(seconds=seg.wait_seconds)
                run += 2 * FLOW
                if fact["release"] == "baked":
                    run += MAP + len(batches) * (ITERATION + CALLBACK)
                    now_released.update(dict.fromkeys(seg.cells, clock))
        released, end = now_released, max(end, clock)
    return Lanes(run, child, child_name, end, total_polls)


def _work(seg: Segment, batch: tuple[str, ...], each: timedelta, clock: datetime, fact: dict[str, Any],
          released: dict[str, datetime]) -> datetime:
    """Run one batch from `clock`; record when each cell joins the next phase's gate; the batch's end."""
    if seg.each:
        for cell in batch:
            clock += each
            if fact["release"] == "complete":
                released[cell] = clock
            clock += timedelta(seconds=seg.wait_seconds)
            if fact["release"] == "baked":
                released[cell] = clock
        return clock
    clock += each * math.ceil(len(batch) / seg.concurrency)
    if fact["release"] == "complete":
        released.update(dict.fromkeys(batch, clock))
    return clock


def map_concurrency(node: dict[str, Any]) -> int:
    """The largest concurrency of any Map: MaxConcurrency, or at most what its steps allow (MaxConcurrencyPath)."""
    top = 0
    for state in node.get("States", {}).values():
        if state.get("Type") == "Map":  # MaxConcurrencyPath: the steps' concurrency, counted by the caller
            fixed = 0 if "MaxConcurrencyPath" in state else state.get("MaxConcurrency") or INLINE_MAP_LIMIT
            top = max(top, fixed, map_concurrency(state["ItemProcessor"]))
    return top


def measure(size: int) -> dict[str, Any]:
    plan = synthetic_migration(Path(tempfile.mkdtemp(prefix="cellfleet-quotas-")), size)
    document = definition(plan)
    steps = max((s.concurrency for p in plan.phases for s in segments(p)), default=0)
    given = execution_input(plan)
    state = {**given, "facts": facts(plan)}
    child = max((b for phase in given["plan"] for s in phase for b in s["batches"]),
                key=lambda b: len(json.dumps(b)))
    run = lanes(plan)
    return {
        "cells": size,
        "definition_bytes": len(json.dumps(document, sort_keys=True)),
        "input_bytes": len(json.dumps(given)),
        "largest_state_bytes": max(len(json.dumps(state)), len(json.dumps(child)) + 4096),
        "history_run": run.run_events,
        "history_child": run.child_events,
        "largest_child": run.child,
        "gate_polls": run.polls,
        "map_concurrency": max(map_concurrency(document), steps),
        "duration_days": round((run.end - default_start(plan)).total_seconds() / 86400, 1),
    }


QUOTAS = {
    "definition_bytes": ("definition", DEFINITION_QUOTA),
    "input_bytes": ("execution input", INPUT_QUOTA),
    "largest_state_bytes": ("largest state", STATE_QUOTA),
    "history_run": ("history: run execution", HISTORY_QUOTA),
    "history_child": ("history: largest child", HISTORY_QUOTA),
    "map_concurrency": ("Map concurrency", INLINE_MAP_LIMIT),
    "duration_days": ("execution duration (days)", DURATION_QUOTA.days),
}


def verdicts(row: dict[str, Any]) -> list[tuple[str, Any, int, bool]]:
    return [(label, row[key], quota, row[key] <= quota / 2) for key, (label, quota) in QUOTAS.items()]


def table(rows: list[dict[str, Any]]) -> str:
    head = ["quota", *(f"{r['cells']:,} cells" for r in rows), "limit (pass: ≤ half)"]
    lines = [head, ["---"] * len(head)]
    for n, (label, quota) in enumerate(QUOTAS.values()):
        cells = []
        for r in rows:
            value, ok = verdicts(r)[n][1], verdicts(r)[n][3]
            cells.append(f"{value:,} {'ok' if ok else 'FAILS'}")
        lines.append([label, *cells, f"{quota:,}"])
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="fleet sizes (comma-separated)")
    args = parser.parse_args()
    rows = [measure(int(s)) for s in args.sizes.split(",") if s]
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    failing = [f"{r['cells']:,} cells: {label} {value:,} > half of {quota:,}"
               for r in rows for label, value, quota, ok in verdicts(r) if not ok]
    for line in failing:
        print(f"FAILS {line}", file=sys.stderr)
    print("every quota at most half used" if not failing else f"{len(failing)} figure(s) over half a quota",
          file=sys.stderr)
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
