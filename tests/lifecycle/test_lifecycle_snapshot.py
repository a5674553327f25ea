"""Under Pulumi's mocks: a protected database always gets a final snapshot, whatever its tier profile says.

The decommission check trusts this (a destroy of a protected cluster takes `<cluster>-final`);
an unprotected one without `final_snapshot` skips it.
"""

from __future__ import annotations

import pulumi
import pytest

from fleet.mocking import Inventory, run_program
from fleet.preview import preview_cell
from model.cells import Fleet, Tier
from model.contract import database_cluster, final_snapshot
from modules.cell.args import DataArgs
from modules.cell.data import build_data


def _data(protect: bool, final: bool) -> Inventory:
    args = DataArgs(cluster_identifier="cell-x-aurora", engine="aurora-postgresql", engine_version="16.4", port=5432,
                    instance_class="db.r6g.large", instances=1, customer_managed_key=False, backup_retention_days=7,
                    final_snapshot=final, protect=protect, log_exports=("postgresql",))

    def program() -> None:
        build_data("cell-x", args, "vpc-1", ["subnet-1", "subnet-2"], pulumi.ResourceOptions())

    return run_program(program, stack="cell-x")


@pytest.mark.parametrize(("protect", "final", "taken"), [(True, False, True), (True, True, True), (False, False, False),
                                                         (False, True, True)])
def test_a_protected_database_gets_a_final_snapshot(protect: bool, final: bool, taken: bool) -> None:
    (cluster,) = _data(protect, final).of_type("aws:rds/cluster:Cluster")
    assert cluster.protect is protect
    assert cluster.inputs["skipFinalSnapshot"] is not taken
    assert cluster.inputs.get("finalSnapshotIdentifier") == (final_snapshot("cell-x-aurora") if taken else None)


def test_the_enterprise_cell_program_snapshots_its_database() -> None:
    from fleet.inputs import load_fleet
    from fleet.options import REPO_ROOT

    fleet: Fleet = load_fleet(REPO_ROOT)
    cell = fleet.by_tier(Tier.ENTERPRISE)[0]
    (cluster,) = preview_cell(cell).of_type("aws:rds/cluster:Cluster")
    assert cluster.protect is True
    assert cluster.inputs["clusterIdentifier"] == database_cluster(cell.id)
    assert cluster.inputs["finalSnapshotIdentifier"] == final_snapshot(database_cluster(cell.id))
