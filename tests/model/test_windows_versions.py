"""Maintenance-window openings and release ordering: the two small model facts the status page and rollouts share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.versions import release_key
from model.windows import DAYS, next_opening

MONDAY = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("window", "at", "opens"), [
    ("sun:03:00-sun:05:00", MONDAY, datetime(2026, 6, 7, 3, tzinfo=UTC)),
    ("sun:03:00-sun:05:00", datetime(2026, 6, 7, 4, tzinfo=UTC), datetime(2026, 6, 7, 3, tzinfo=UTC)),  # open now
    ("sun:03:00-sun:05:00", datetime(2026, 6, 7, 5, tzinfo=UTC), datetime(2026, 6, 14, 3, tzinfo=UTC)),  # just closed
    ("sun:23:00-mon:01:00", datetime(2026, 6, 8, 0, 30, tzinfo=UTC), datetime(2026, 6, 7, 23, tzinfo=UTC)),  # wraps
    ("mon:00:00-mon:00:30", MONDAY, MONDAY),
])
def test_next_opening(window: str, at: datetime, opens: datetime) -> None:
    assert next_opening(window, at)[0] == opens


@given(st.sampled_from(DAYS), st.integers(0, 23), st.integers(0, 59), st.integers(30, 6000),
       st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_opening_contains_or_follows_at(day: str, hour: int, minute: int, minutes: int, naive: datetime) -> None:
    start = timedelta(days=DAYS.index(day), hours=hour, minutes=minute)
    end = (start + timedelta(minutes=minutes)) % timedelta(weeks=1)
    days, rest = divmod(int(end.total_seconds()) // 60, 24 * 60)
    window = f"{day}:{hour:02d}:{minute:02d}-{DAYS[days]}:{rest // 60:02d}:{rest % 60:02d}"
    at = naive.replace(tzinfo=UTC)
    opens, closes = next_opening(window, at)
    assert closes - opens == timedelta(minutes=minutes)
    assert closes > at  # never a window that already closed
    assert opens - at < timedelta(weeks=1)
    assert opens.weekday() == DAYS.index(day) and (opens.hour, opens.minute) == (hour, minute)


def test_release_order_follows_semver() -> None:
    ordered = ["1.9.0", "1.10.0-alpha", "1.10.0-alpha.2", "1.10.0-alpha.10", "1.10.0-beta", "1.10.0", "2.0.0"]
    shuffled = ordered[3:] + ordered[:3]
    assert sorted(shuffled, key=release_key) == ordered
    assert release_key("none") < release_key("0.0.0-0")  # a registry's placeholder sorts before every release
