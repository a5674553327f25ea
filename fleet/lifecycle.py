"""The decommission path's reads: where a cell file says `decommission`, and whom the router still sends there."""

from __future__ import annotations

from pathlib import Path

from fleet.aws import read_router
from fleet.files import load_document
from model.cells import Fleet
from model.errors import InputError
from model.fleet import CELLS_DIR
from model.lifecycle import router_problems


def decommission_error(root: Path, cell_id: str, message: str) -> InputError:
    """A problem located at the cell file's `decommission` line (the file's first line if it has none)."""
    doc = load_document(root / CELLS_DIR / f"{cell_id}.yaml", root)
    return doc.error(("decommission",), message, "decommission")


def router_errors(root: Path, fleet: Fleet, table: str, region: str | None, endpoint: str | None) -> list[InputError]:
    """Decommissioning cells the router table still sends customers to, located in their cell files."""
    retiring = {c.id for c in fleet.decommissioning}
    if not retiring:
        return []
    mapped = {cell: accounts for cell, accounts in read_router(table, region, endpoint).items() if cell in retiring}
    return [decommission_error(root, cell, message) for cell, message in router_problems(mapped, table).items()]
