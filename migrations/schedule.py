"""Estimated dates of every step: per-cell work times batches, then the step's wait; phases in order.

Approvals are gates of unknown length and are counted as instant; the runbook says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from migrations.planner import MigrationPlan, PhasePlan, Step
from model.manifest import PhaseType


@dataclass(frozen=True)
class StepTime:
    phase: PhasePlan
    step: Step
    start: datetime
    end: datetime  # work done
    ready: datetime  # end + wait: when the next step may start

    @property
    def work(self) -> timedelta:
        return self.end - self.start


def per_cell(plan: MigrationPlan, phase: PhasePlan) -> timedelta:
    """How long one cell takes in a phase, as the schedule assumes."""
    if phase.type is PhaseType.DEPLOYMENT:
        return plan.deploy_estimate
    if phase.type is PhaseType.DATA:
        return plan.migration.estimates.backfill
    return plan.migration.estimates.schema_change


def _later(t: datetime, d: timedelta) -> datetime:
    """`t + d`, held at the calendar's end instead of overflowing (a huge bake or a far `--at`)."""
    try:
        return t + d
    except OverflowError:
        return datetime.max.replace(tzinfo=t.tzinfo)


def estimate(plan: MigrationPlan, start: datetime) -> list[StepTime]:
    out: list[StepTime] = []
    clock = start
    for phase in plan.phases:
        each = per_cell(plan, phase)
        for step in phase.steps:
            end = _later(clock, each * step.batches)
            ready = _later(end, step.wait)
            out.append(StepTime(phase, step, clock, end, ready))
            clock = ready
    return out


def default_start(plan: MigrationPlan) -> datetime:
    """The manifest's `start`, else midnight UTC of the date the id starts with."""
    from datetime import UTC

    if plan.migration.start is not None:
        start = plan.migration.start
        return start if start.tzinfo else start.replace(tzinfo=UTC)
    return datetime.strptime(plan.id[:10], "%Y-%m-%d").replace(tzinfo=UTC)
