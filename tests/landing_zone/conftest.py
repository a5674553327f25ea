"""Fixtures for the landing-zone tests: a copy of the sample fleet to edit, and the sample routes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fleet.inputs import load_routes
from model.routes import ROUTES_FILE, RoutesFile
from tests.landing_zone.lz_support import REPO


@pytest.fixture
def sample_routes() -> RoutesFile:
    return load_routes(REPO)


@pytest.fixture
def fleet_copy(tmp_path: Path) -> Callable[[Callable[[str], str] | None], Path]:
    """A copy of the sample fleet (cells + routes config); the callable may rewrite the routes text."""

    def make(edit: Callable[[str], str] | None = None) -> Path:
        root = tmp_path / "fleet"
        shutil.copytree(REPO / "cells", root / "cells")
        target = root / ROUTES_FILE
        target.parent.mkdir(parents=True)
        text = (REPO / ROUTES_FILE).read_text(encoding="utf-8")
        target.write_text(edit(text) if edit else text, encoding="utf-8")
        return root

    return make
