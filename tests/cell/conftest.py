"""Run every sample cell's stack program once per session under Pulumi's mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.inputs import load_fleet
from fleet.mocking import Inventory, new_event_loop
from fleet.preview import preview_cell
from model.cells import Fleet

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sample_fleet() -> Fleet:
    return load_fleet(REPO_ROOT)


@pytest.fixture(scope="session")
def inventories(sample_fleet: Fleet) -> dict[str, Inventory]:
    """Cell id -> inventory of its stack program (run once, shared by the tests)."""
    out = {}
    for cell in sample_fleet.cells:
        new_event_loop()
        out[cell.id] = preview_cell(cell)
    return out
