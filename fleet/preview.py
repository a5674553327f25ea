"""The offline preview engine: a cell's stack program run under Pulumi's mocks, as an inventory."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fleet.inventory import inventory_document, to_json
from fleet.mocking import Inventory, run_program
from fleet.stacks import cell_program
from model.cells import Cell, Fleet


def inventory_path(cell_id: str) -> str:
    """Where a cell's inventory goes under build/."""
    return f"cells/{cell_id}.json"


def preview_cell(cell: Cell, config: Mapping[str, str] | None = None) -> Inventory:
    """Run the cell's stack program offline under Pulumi's mocks."""
    return run_program(lambda: cell_program(cell), stack=cell.id, config=config)


def cell_inventories(
    fleet: Fleet, done: Callable[[str], None] | None = None
) -> tuple[dict[str, str], dict[str, int]]:
    """Every cell's inventory file (path under build/ -> JSON) and resource count; `done(cell_id)` after each."""
    files: dict[str, str] = {}
    counts: dict[str, int] = {}
    for cell in fleet.cells:
        document = inventory_document(preview_cell(cell))
        counts[cell.id] = int(document["resource_count"])
        files[inventory_path(cell.id)] = to_json(document)
        if done is not None:
            done(cell.id)
    return files, counts
