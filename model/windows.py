"""Maintenance windows (`sun:03:00-sun:05:00`, UTC, as RDS writes them) as instants: when the next one opens."""

from __future__ import annotations

from datetime import datetime, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = timedelta(weeks=1)


def _offset(part: str) -> timedelta:
    day, hour, minute = part.split(":")
    return timedelta(days=DAYS.index(day), hours=int(hour), minutes=int(minute))


def window_span(window: str) -> tuple[timedelta, timedelta]:
    """Start and length of a weekly window, the start as an offset from Monday 00:00 UTC."""
    start_text, end_text = window.split("-")
    start, end = _offset(start_text), _offset(end_text)
    return start, (end - start) % WEEK


def next_opening(window: str, at: datetime) -> tuple[datetime, datetime]:
    """The opening in progress at `at` (an aware UTC datetime), or the next one: (opens, closes)."""
    start, length = window_span(window)
    monday = (at - timedelta(days=at.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    opens = monday + start
    if opens + length <= at:
        opens += WEEK
    elif opens - WEEK + length > at >= opens - WEEK:  # a window that wraps past Sunday midnight
        opens -= WEEK
    return opens, opens + length
