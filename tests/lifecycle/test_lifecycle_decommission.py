"""A cell walked through the decommission path, each unsafe step refused.

Mark it (refused while its file lists customers) -> out of the plan -> the router table on moto's
DynamoDB still sends it a customer (gateway render and check refuse) -> the customer moves -> the
stack's state has a protected database that would go without a final snapshot (refused) -> a
manual snapshot exists on moto's RDS, or the state takes one (safe) -> the file goes: its stack
is now an orphan in the backend's listing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from fleet.cli import app
from model.contract import DEFAULT_ROUTER_TABLE, ROUTER_KEY
from model.errors import InputErrors

CELL = "enterprise-ap-standard"
REGION = "us-east-1"


def run(*args: str) -> tuple[int, str, str]:
    """The CLI in process: exit code, stdout, and the error lines (input errors as `fleet` prints them)."""
    result = CliRunner().invoke(app, list(args), prog_name="fleet")
    if isinstance(result.exception, InputErrors):
        return 1, result.stdout, "".join(f"{e}\n" for e in result.exception.errors)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def edit(root: Path, extra: str) -> Path:
    """The cell file with `extra` lines appended (the sample file's own lines unchanged)."""
    path = root / "cells" / f"{CELL}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def line_of(path: Path, key: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(f"{key}:"))


def state(path: Path, *, skip: bool, protect: bool = True) -> Path:
    """A `pulumi stack export` document with the cell's Aurora cluster as the provider recorded it."""
    outputs: dict[str, Any] = {"clusterIdentifier": f"{CELL}-aurora", "deletionProtection": True,
                               "skipFinalSnapshot": skip}
    if not skip:
        outputs["finalSnapshotIdentifier"] = f"{CELL}-aurora-final"
    doc = {"version": 3, "deployment": {"resources": [
        {"urn": f"urn:pulumi:{CELL}::cellfleet::pulumi:pulumi:Stack::cellfleet-{CELL}", "type": "pulumi:pulumi:Stack"},
        {"urn": f"urn:pulumi:{CELL}::cellfleet::cellfleet:index:Cell$aws:rds/cluster:Cluster::{CELL}-db",
         "type": "aws:rds/cluster:Cluster", "protect": protect, "inputs": {}, "outputs": outputs},
    ]}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def aws() -> Iterator[Any]:
    """moto: the router table (as the landing-zone stack creates it) with one customer's API key on CELL."""
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        table = dynamodb.create_table(
            TableName=DEFAULT_ROUTER_TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": ROUTER_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": ROUTER_KEY, "AttributeType": "S"}],
        )
        for i in range(30):  # other customers, on other cells
            table.put_item(Item={ROUTER_KEY: f"key-other-{i}", "account_id": f"acct-{i}", "cell_id": "smb-us-1",
                                 "endpoint": "https://smb-us-1.cells.cellfleet.internal"})
        table.put_item(Item={ROUTER_KEY: "key-initech", "account_id": "initech", "cell_id": CELL,
                             "endpoint": f"https://{CELL}.cells.cellfleet.internal"})
        yield table


def test_a_cell_walks_the_decommission_path(fleet_root: Path, aws: Any, tmp_path: Path) -> None:
    root = str(fleet_root)
    registry = ["--registry", "--region", REGION]

    # 1. Marked while the file still maps a customer: every command refuses, naming the customer.
    path = edit(fleet_root, "customers: [initech]\ndecommission: true\n")
    line = line_of(path, "decommission")
    code, _, err = run("check", "--root", root)
    assert code == 1
    assert err.splitlines() == [f"cells/{CELL}.yaml:{line}: decommission: customers still mapped to this cell: "
                                "initech; move them to another cell first (and drop them from `customers`)"]
    assert run("gateway", "--target", "aws", "--at", "2026-01-01", "--root", root)[0] == 1

    # 2. The file no longer maps it: the cell is in no wave, and `fleet plan` says it is decommissioning.
    path.write_text(path.read_text().replace("customers: [initech]\n", ""), encoding="utf-8")
    line = line_of(path, "decommission")
    assert run("decommission", "list", "--root", root)[:2] == (0, f'["{CELL}"]\n')
    code, out, _ = run("plan", "--format", "json", "--root", root)
    assert code == 0
    plan = json.loads(out)
    assert plan["decommissioning"] == [CELL]
    assert all(CELL not in wave["cells"] for wave in plan["waves"])

    # 3. The router table still sends initech there: the gateway render and the check refuse.
    refusal = (f"cells/{CELL}.yaml:{line}: decommission: customers still mapped to this cell in the router table "
               f"{DEFAULT_ROUTER_TABLE}: initech; move them to another cell first")
    code, _, err = run("gateway", "--target", "aws", "--at", "2026-01-01", *registry, "--root", root)
    assert (code, err.splitlines()) == (1, [refusal])
    unsafe = state(tmp_path / "state.json", skip=True)
    code, _, err = run("decommission", "check", CELL, "--state", str(unsafe), *registry, "--root", root)
    assert code == 1
    assert refusal in err.splitlines()

    # 4. initech moves; the state still has a protected database that would go without a snapshot.
    aws.update_item(Key={ROUTER_KEY: "key-initech"}, UpdateExpression="SET cell_id = :c",
                    ExpressionAttributeValues={":c": "enterprise-eu-standard"})
    code, _, err = run("decommission", "check", CELL, "--state", str(unsafe), *registry, "--root", root)
    assert code == 1
    assert err.splitlines() == [
        f"cells/{CELL}.yaml:{line}: decommission: protected database {CELL}-aurora would be destroyed without a final "
        f"snapshot (skip_final_snapshot, no final_snapshot_identifier) and no snapshot of it exists (from {unsafe})"]

    # 5. A manual snapshot of the cluster exists on RDS: safe.
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_cluster(DBClusterIdentifier=f"{CELL}-aurora", Engine="aurora-postgresql",
                          MasterUsername="cellfleet_admin", MasterUserPassword="not-a-real-secret-1")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=f"{CELL}-aurora",
                                   DBClusterSnapshotIdentifier=f"{CELL}-aurora-manual")
    code, out, err = run("decommission", "check", CELL, "--state", str(unsafe), *registry, "--root", root)
    assert code == 0, err
    assert json.loads(out)["safe"] is True

    # 6. ...or the state takes one on destroy (no snapshot needed); the default program under mocks too.
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=f"{CELL}-aurora-manual")
    assert run("decommission", "check", CELL, "--state", str(unsafe), *registry, "--root", root)[0] == 1
    taken = state(tmp_path / "taken.json", skip=False)
    code, out, err = run("decommission", "check", CELL, "--state", str(taken), *registry, "--root", root)
    assert code == 0, err
    assert json.loads(out)["cluster"] == f"{CELL}-aurora"

    # 7. The stack is destroyed, the file goes: the backend's stack is an orphan until `pulumi stack rm`.
    listing = tmp_path / "stacks.json"
    listing.write_text(json.dumps([{"name": f"acme/cellfleet/{s}"} for s in
                                   ("control-plane", "landing-zone", "smb-us-1", CELL)]), encoding="utf-8")
    assert run("decommission", "orphans", "--stacks", str(listing), "--root", root)[0] == 0
    path.unlink()
    code, out, _ = run("decommission", "orphans", "--stacks", str(listing), "--root", root)
    assert (code, out.splitlines()) == (1, [CELL])


def test_an_active_cell_is_never_cleared(fleet_root: Path, tmp_path: Path) -> None:
    taken = state(tmp_path / "taken.json", skip=False)
    code, _, err = run("decommission", "check", CELL, "--state", str(taken), "--root", str(fleet_root))
    assert code == 1
    assert "is not marked `decommission: true`" in err


def test_an_unprotected_database_needs_no_snapshot(fleet_root: Path, tmp_path: Path) -> None:
    edit(fleet_root, "decommission: true\n")
    unprotected = state(tmp_path / "state.json", skip=True, protect=False)
    doc = json.loads(unprotected.read_text())
    doc["deployment"]["resources"][1]["outputs"]["deletionProtection"] = False
    unprotected.write_text(json.dumps(doc))
    code, _, err = run("decommission", "check", CELL, "--state", str(unprotected), "--root", str(fleet_root))
    assert code == 0, err


def test_orphans_from_stdin_and_reserved_stacks(fleet_root: Path) -> None:
    listing = json.dumps([{"name": "landing-zone"}, {"name": "control-plane"}, {"name": "smb-us-1"},
                          {"name": "org/cellfleet/smb-xx-9"}, {"name": "old-cell"}])
    result = CliRunner().invoke(app, ["decommission", "orphans", "--stacks", "-", "--root", str(fleet_root)],
                                input=listing, prog_name="fleet")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["old-cell", "smb-xx-9"]


def test_a_flag_scope_naming_a_retiring_cell_is_told_so(fleet_root: Path) -> None:
    flag = fleet_root / "flags" / "newVoiceCodec.yaml"
    flag.write_text(flag.read_text().replace("{day: 2, percent: 5}", f"{{day: 2, percent: 5, scope: {{cells: [{CELL}]}}}}"))
    assert run("check", "--root", str(fleet_root))[0] == 0
    edit(fleet_root, "decommission: true\n")
    line = next(i for i, text in enumerate(flag.read_text().splitlines(), 1) if "scope: {cells" in text)
    code, _, err = run("check", "--root", str(fleet_root))
    assert (code, err.splitlines()) == (1, [f"flags/newVoiceCodec.yaml:{line}: flag.stages[0].scope.cells[0]: cell {CELL!r} "
                                            "is being decommissioned (decommission: true)"])


def test_the_pr_diff_runs_no_program_for_a_retiring_cell(fleet_root: Path) -> None:
    """`fleet diff` takes the base tree's cells from its files: a retiring one has no program to run there."""
    from fleet.diff import _cell_ids

    assert CELL in _cell_ids(fleet_root)
    edit(fleet_root, "decommission: true\n")
    cells = _cell_ids(fleet_root)
    assert CELL not in cells and "smb-us-1" in cells
