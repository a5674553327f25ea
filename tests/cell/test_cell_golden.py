"""Golden inventories of two cells; regenerate with `UPDATE_GOLDEN=1 pytest tests/cell`."""

from __future__ import annotations

import pytest

from fleet.inventory import inventory_document, to_json
from fleet.mocking import Inventory
from tests.support.golden import assert_golden


@pytest.mark.parametrize("cell_id", ["smb-us-1", "enterprise-us-hipaa"])
def test_inventory_matches_golden(cell_id: str, inventories: dict[str, Inventory]) -> None:
    assert_golden(f"cells/{cell_id}.json", to_json(inventory_document(inventories[cell_id])))


def test_inventory_is_deterministic(inventories: dict[str, Inventory]) -> None:
    from fleet.inputs import load_fleet
    from fleet.preview import preview_cell
    from tests.cell.conftest import REPO_ROOT

    again = preview_cell(load_fleet(REPO_ROOT).cell("smb-us-1"))
    assert to_json(inventory_document(again)) == to_json(inventory_document(inventories["smb-us-1"]))
