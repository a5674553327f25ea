"""Fixtures: a scratch fleet root with the sample cells and a writable migrations/ folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "2025-01-15-recipient-id-column"


@pytest.fixture
def fleet_root(tmp_path: Path) -> Path:
    """The sample cells and the sample migration, copied so tests may change them."""
    shutil.copytree(REPO / "cells", tmp_path / "cells")
    shutil.copytree(REPO / "migrations" / SAMPLE, tmp_path / "migrations" / SAMPLE)
    return tmp_path
