"""A writable copy of the sample fleet for walking a cell through the decommission path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fleet.options import REPO_ROOT

FLEET_PARTS = ("cells", "pipelines/rollout.yaml", "landing_zone/api-gateway-config.yaml", "flags")


@pytest.fixture
def fleet_root(tmp_path: Path) -> Path:
    root = tmp_path / "fleet"
    for part in FLEET_PARTS:
        source, target = REPO_ROOT / part, root / part
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return root
