"""The sample fleet's inputs and GitOps tree, rendered once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet.inputs import FleetInputs, load_inputs
from gitops.tree import gitops_files
from pipelines.waves import Plan

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sample_inputs() -> FleetInputs:
    return load_inputs(REPO_ROOT)


@pytest.fixture(scope="session")
def sample_plan(sample_inputs: FleetInputs) -> Plan:
    return sample_inputs.plan


@pytest.fixture(scope="session")
def sample_cells(sample_inputs: FleetInputs) -> dict[str, Any]:
    return {cell.id: cell for cell in sample_inputs.fleet.cells}


@pytest.fixture(scope="session")
def sample_tree(sample_inputs: FleetInputs) -> dict[str, str]:
    return gitops_files(sample_inputs.fleet, sample_inputs.plan)
