"""The orchestrator of a plan against every Step Functions quota, measured on what would be sent.

Figures come from the documents themselves: the definition (`orchestrator.definition`), the
execution input and the step objects (`orchestrator.plan_document` -> `cellref`), and a lane
schedule that walks the definition's structure on the happy path: each phase's lane runs its
steps in order and its batches in order, a batch waits at its gate until the previous phase has
released every cell of it (polls after 60 s, 120 s, ... up to every 17 h 4 min), then runs its
cells `concurrency` at a time (one-at-a-time steps: each cell, then its bake). Lanes overlap, as
the machine's Distributed Map over the phases runs them all at once. History events are counted
state by state with `pipelines.history`'s per-state figures, per execution: the run, a lane, the
largest batch child. `fleet migrate start` refuses a plan over any quota before calling AWS.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from migrations import cellref
from migrations.orchestrator import (
    INLINE_MAP_LIMIT,
    POLL_MAX_SECONDS,
    POLL_SECONDS,
    Segment,
    facts,
    segments,
)
from migrations.planner import MigrationPlan
from migrations.schedule import default_start, per_cell
from pipelines.asl import JSON
from pipelines.history import CALLBACK, EXECUTION, FLOW, HISTORY_QUOTA, ITERATION, MAP, MAP_RUN, TASK
from pipelines.inputs import INPUT_QUOTA

DEFINITION_QUOTA = 1024 * 1024
STATE_QUOTA = 256 * 1024
DURATION_QUOTA = timedelta(days=365)
VERSION_ID = "x" * 32  # an S3 version id's length, for the input measured before S3 answers
STATE_OVERHEAD = 4096  # what a batch child's state adds to its item (phase facts, settings, results)


def gate_polls(wait: timedelta) -> int:
    """Reads of a closed gate before it opens: waits of 60 s, 120 s, 240 s, ... (at most 17 h 4 min) cover `wait`."""
    seconds, polls, step = wait.total_seconds(), 0, POLL_SECONDS
    while seconds > 0:
        seconds -= step
        polls += 1
        step = min(2 * step, POLL_MAX_SECONDS)
    return polls


def cell_events(fact: dict[str, Any], step: dict[str, Any]) -> int:
    """Events one cell adds to its batch child (happy path)."""
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


@dataclass(frozen=True)
class Drive:
    """Why the run takes as long as it does: the step whose own work and bakes last longest."""

    phase: str
    step: str
    cells: int
    each: bool
    days: float

    def __str__(self) -> str:
        how = "one at a time, each cell's work then its bake" if self.each else "in batches, then the step's bake"
        return f"{self.phase} / {self.step}: {self.cells:,} cell(s) {how}: {self.days:,.1f} days"


@dataclass
class Lanes:
    """The happy path of every lane: the largest histories, when it ends, the longest batch child."""

    lane_events: int
    child_events: int
    child: str
    end: datetime
    polls: int
    child_days: float
    drive: Drive | None


def lanes(plan: MigrationPlan, document: JSON) -> Lanes:
    """Walk the definition's lanes over the plan document's batches (the objects the machine reads)."""
    compiled = facts(plan)
    start = default_start(plan)
    released: dict[str, datetime] = {}
    lane_top = child = total_polls = 0
    child_name, end, child_days, drive = "", start, 0.0, None
    for p, (phase, fact, steps) in enumerate(zip(plan.phases, compiled, document["plan"], strict=True)):
        each_cell = per_cell(plan, phase)
        clock, now_released = start, dict[str, datetime]()
        lane = EXECUTION + FLOW + FLOW  # start, done
        for seg, step, given in zip(segments(phase), fact["steps"], steps, strict=True):
            lane += 3 * FLOW + (CALLBACK if step["approval"] else 0) + MAP + MAP_RUN + 2 * FLOW + 2 * FLOW
            own = timedelta(0)  # the step's own work and bakes, not its waits at gates
            for batch in given["batches"]:
                cells = [c["c"] for c in batch["cells"]]
                began = clock
                events = EXECUTION + FLOW + MAP + len(cells) * cell_events(fact, step) + 3 * FLOW
                if p:
                    opens = max(released[c] for c in cells)
                    polls = gate_polls(opens - clock) if opens > clock else 0
                    total_polls += polls
                    events += FLOW + polls * (2 * TASK + 7 * FLOW) + TASK + 3 * FLOW
                    clock = max(clock, opens)
                ready = clock
                clock = _work(seg, cells, each_cell, clock, fact, now_released)
                own += clock - ready
                child_days = max(child_days, (clock - began).total_seconds() / 86400)
                if events > child:
                    child, child_name = events, f"{phase.name.value} / {seg.label}"
            if not seg.each:
                clock += timedelta(seconds=seg.wait_seconds)
                own += timedelta(seconds=seg.wait_seconds)
                lane += 2 * FLOW
                if fact["release"] == "baked":
                    lane += MAP + MAP_RUN
                    now_released.update(dict.fromkeys(seg.cells, clock))
            days = own.total_seconds() / 86400
            if drive is None or days > drive.days:
                drive = Drive(phase.name.value, seg.label, len(seg.cells), seg.each, round(days, 1))
        lane_top = max(lane_top, lane)
        released, end = now_released, max(end, clock)
    return Lanes(lane_top, child, child_name, end, total_polls, round(child_days, 1), drive)


def _work(seg: Segment, batch: list[str], each: timedelta, clock: datetime, fact: dict[str, Any],
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
    """The largest fixed MaxConcurrency of any inline Map (a Distributed Map's children are executions)."""
    top = 0
    for state in node.get("States", {}).values():
        if state.get("Type") == "Map":
            inline = state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
            fixed = 0 if "MaxConcurrencyPath" in state or not inline else state.get("MaxConcurrency") or INLINE_MAP_LIMIT
            top = max(top, fixed, map_concurrency(state["ItemProcessor"]))
    return top


RUN_EVENTS = EXECUTION + FLOW + MAP + MAP_RUN + 3 * FLOW  # rules, the phases' Distributed Map, check, ok?, done


def measure(plan: MigrationPlan, document: JSON, definition: JSON) -> dict[str, Any]:
    """Every figure of the orchestrator for this plan: sizes in bytes, events, concurrency, days."""
    objects = cellref.step_objects(document)
    given = cellref.execution_input(document, objects, [VERSION_ID] * len(objects))
    run_state = {**given, "facts": facts(plan)}
    lane_state = max((len(json.dumps(s)) for s in given["plan"]["steps"]), default=0) + len(json.dumps(facts(plan)))
    item = max((len(json.dumps(b)) for o in objects for b in json.loads(o.body)), default=0)
    run = lanes(plan, document)
    steps = max((s.concurrency for p in plan.phases for s in segments(p)), default=0)
    return {
        "cells": len(plan.cells),
        "definition_bytes": len(json.dumps(definition, sort_keys=True)),
        "input_bytes": len(json.dumps(given, sort_keys=True)),
        "largest_state_bytes": max(len(json.dumps(run_state)), lane_state, item + STATE_OVERHEAD),
        "history_run": RUN_EVENTS,
        "history_lane": run.lane_events,
        "history_child": run.child_events,
        "largest_child": run.child,
        "gate_polls": run.polls,
        "map_concurrency": max(map_concurrency(definition), steps),
        "duration_days": round((run.end - default_start(plan)).total_seconds() / 86400, 1),
        "child_duration_days": run.child_days,
        "driven_by": str(run.drive) if run.drive else "",
    }


QUOTAS = {
    "definition_bytes": ("definition", DEFINITION_QUOTA),
    "input_bytes": ("execution input", INPUT_QUOTA),
    "largest_state_bytes": ("largest state", STATE_QUOTA),
    "history_run": ("history: run execution", HISTORY_QUOTA),
    "history_lane": ("history: largest lane", HISTORY_QUOTA),
    "history_child": ("history: largest batch", HISTORY_QUOTA),
    "map_concurrency": ("inline Map concurrency", INLINE_MAP_LIMIT),
    "duration_days": ("execution duration (days)", DURATION_QUOTA.days),
    "child_duration_days": ("batch duration (days)", DURATION_QUOTA.days),
}


def problems(figures: dict[str, Any], share: float = 1.0) -> list[str]:
    """One line per figure over `share` of its quota (the start command: the whole quota)."""
    out = []
    for key, (label, quota) in QUOTAS.items():
        value = figures[key]
        if value > quota * share:
            why = f" (driven by {figures['driven_by']})" if key.endswith("duration_days") and figures["driven_by"] else ""
            out.append(f"{label}: {value:,} over {'half of ' if share < 1 else ''}the Step Functions quota "
                       f"of {quota:,} at {figures['cells']:,} cells{why}")
    return out
