"""The cells' share of `fleet build`: each cell's stack program run under mocks, as an inventory."""

from __future__ import annotations

import json
from collections.abc import Mapping

from fleet.build import BuildStep, StepResult
from fleet.inventory import inventory_document, to_json
from fleet.mocking import Inventory, run_program
from fleet.model import Cell, Fleet
from modules.cell.program import cell_program

STEP_NAME = "cells"


def inventory_path(cell_id: str) -> str:
    return f"cells/{cell_id}.json"


def preview_cell(cell: Cell, config: Mapping[str, str] | None = None) -> Inventory:
    """Run the cell's stack program offline under Pulumi's mocks."""
    return run_program(lambda: cell_program(cell), stack=cell.id, config=config)


def _run(fleet: Fleet) -> StepResult:
    files = {}
    total = 0
    for cell in fleet.cells:
        document = inventory_document(preview_cell(cell))
        total += document["resource_count"]
        files[inventory_path(cell.id)] = to_json(document)
    return StepResult(files=files, summary=[f"cells: {len(fleet.cells)} inventories, {total} resources"])


def inventory_step() -> BuildStep:
    """Build step writing `cells/<cell-id>.json`: the inventory of every cell's stack."""
    return BuildStep(name=STEP_NAME, run=_run)


def resource_counts(result: StepResult) -> dict[str, int]:
    """Cell id -> resource count, read back from the step's own files (for the summary table)."""
    counts = {}
    for path, text in result.files.items():
        if path.startswith("cells/") and path.endswith(".json"):
            counts[path[len("cells/") : -len(".json")]] = int(json.loads(text)["resource_count"])
    return counts
