"""The rollout's calendar: the wave schedule from a start instant with the cells' maintenance windows applied.

`waves.schedule` gives durations; this places them in time as the pipeline runs them: a
windowed cell's deploy starts at the first opening of its window that still fits the deploy
estimate (`pipelines.windows.openings`, the same openings `rollout start` hands the pipeline).
Earliest: approvals answered at once, bakes at their minimum. Latest: each approval answered
just before its timeout, bakes at their maximum. Batches deploy one after another; a batch ends
when its last cell's deploy does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipelines.waves import Plan, Wave
from pipelines.windows import openings


@dataclass(frozen=True)
class CellTimes:
    cell: str
    window: str | None
    earliest: datetime | None  # when its deploy starts; None: the window never fits the deploy estimate
    latest: datetime | None


@dataclass(frozen=True)
class WaveTimes:
    wave: Wave
    earliest_end: datetime | None
    latest_end: datetime | None
    cells: tuple[CellTimes, ...]


def _fit(window: str | None, ready: datetime, estimate: timedelta) -> datetime | None:
    """When a cell ready at `ready` starts deploying: at once, or at its window's next fitting opening."""
    if window is None:
        return ready
    found = openings(window, ready, estimate, count=1)
    return max(found[0].start, ready) if found else None


def _run(plan: Plan, windows: Mapping[str, str], start: datetime, late: bool
         ) -> tuple[dict[str, datetime | None], dict[str, datetime | None]]:
    """Wave end and cell deploy start in one scenario; None from the first cell that can never deploy on."""
    estimate = plan.policy.deploy_estimate
    ends: dict[str, datetime | None] = {}
    starts: dict[str, datetime | None] = {}
    now: datetime | None = start
    for wave in plan.waves:
        policy = wave.policy
        wait = policy.approval_timeout if late and policy.approval else timedelta(0)
        bake = policy.bake.max if late else policy.bake.min
        if now is not None and not policy.one_at_a_time:
            now += wait  # one approval for the wave
        size = policy.concurrency
        for first in range(0, len(wave.cells), size):
            batch = wave.cells[first:first + size]
            if now is not None and policy.one_at_a_time:
                now += wait  # one approval per cell, before its window wait
            fits = {c: _fit(windows.get(c), now, estimate) if now is not None else None for c in batch}
            starts.update(fits)
            known = [s for s in fits.values() if s is not None]
            now = max(known) + estimate if now is not None and len(known) == len(batch) else None
            if now is not None and policy.one_at_a_time:
                now += bake
        if now is not None and not policy.one_at_a_time:
            now += bake
        ends[wave.name] = now
    return ends, starts


def calendar(plan: Plan, windows: Mapping[str, str], start: datetime) -> tuple[WaveTimes, ...]:
    """Each wave's earliest and latest end and each cell's deploy start, for a rollout started at `start`."""
    early_ends, early_starts = _run(plan, windows, start, late=False)
    late_ends, late_starts = _run(plan, windows, start, late=True)
    return tuple(
        WaveTimes(wave, early_ends[wave.name], late_ends[wave.name],
                  tuple(CellTimes(c, windows.get(c), early_starts[c], late_starts[c]) for c in wave.cells))
        for wave in plan.waves
    )
