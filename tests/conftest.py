"""Shared fixtures: every test gets a fresh asyncio event loop (Pulumi's mocks need one)."""

from __future__ import annotations

import pytest

from fleet.mocking import new_event_loop


@pytest.fixture(autouse=True)
def _fresh_event_loop() -> None:
    new_event_loop()
