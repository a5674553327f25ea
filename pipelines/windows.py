"""Maintenance windows (`sun:03:00-sun:05:00`, UTC, weekly) as the openings a rollout waits for.

The pipeline learns "the next window" from the execution input: `rollout start` (which reads
the clock) computes each windowed cell's next openings with `openings()`, as
`{start, latest_start}` pairs, where `latest_start = end - deploy estimate`; the deploy state
machine skips openings whose latest start has passed, waits (`Wait` on `TimestampPath`) for
the next one, and fails the cell when none is left. Step Functions has no weekday arithmetic
in JSONPath, and a Lambda would be one more deployed part with its own role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from model.windows import WEEK, window_span

OPENINGS = 4  # how many weekly openings `rollout start` computes per cell


@dataclass(frozen=True)
class Opening:
    start: datetime
    latest_start: datetime  # the window's end minus the deploy estimate

    def to_json(self) -> dict[str, str]:
        return {"start": _iso(self.start), "latest_start": _iso(self.latest_start)}


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def openings(window: str, after: datetime, estimate: timedelta, count: int = OPENINGS) -> list[Opening]:
    """The next `count` openings of `window` whose latest start is after `after` (an aware UTC datetime)."""
    start, length = window_span(window)
    if length <= estimate:
        return []  # a deploy never fits: the cell fails at once rather than waiting forever
    monday = (after - timedelta(days=after.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    found: list[Opening] = []
    week = monday - WEEK
    while len(found) < count:
        opening = week + start
        latest = opening + length - estimate
        if latest > after:
            found.append(Opening(opening, latest))
        week += WEEK
    return found
