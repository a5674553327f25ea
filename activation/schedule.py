"""Which stage of a plan is in force on a day, and how stages are named in views."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from model.flags import FlagPlan, Stage


def epoch(day: date) -> int:
    """Unix seconds of 00:00 UTC on `day`: the value `$flagd.timestamp` is compared with."""
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


def active_index(plan: FlagPlan, at: date) -> int | None:
    """Index of the last stage that has started by `at`, or None before the first."""
    started = [i for i, s in enumerate(plan.stages) if plan.stage_start(s) <= at]
    return started[-1] if started else None


def active_stage(plan: FlagPlan, at: date) -> Stage | None:
    index = active_index(plan, at)
    return None if index is None else plan.stages[index]


def day_number(plan: FlagPlan, day: date) -> int:
    """Day N of the plan (Day 1 is `start`)."""
    return (day - plan.start).days + 1


def stage_label(plan: FlagPlan, index: int | None) -> str:
    """`stage 2/3 (day 3, 2026-03-04)`, or `not started` before the first stage."""
    if index is None:
        return "not started"
    begins = plan.stage_start(plan.stages[index])
    return f"stage {index + 1}/{len(plan.stages)} (day {day_number(plan, begins)}, {begins.isoformat()})"
