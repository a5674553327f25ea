"""The offline preview engine: a cell's stack program run under Pulumi's mocks, as an inventory."""

from __future__ import annotations

from collections.abc import Mapping

from fleet.mocking import Inventory, run_program
from fleet.stacks import cell_program
from model.cells import Cell


def preview_cell(cell: Cell, config: Mapping[str, str] | None = None) -> Inventory:
    """Run the cell's stack program offline under Pulumi's mocks."""
    return run_program(lambda: cell_program(cell), stack=cell.id, config=config)
