"""`fleet decommission check CELL` (is it safe to destroy the cell's stack?) and `fleet decommission orphans`.

The decommission path: the cell file says `decommission: true` (out of rollouts, flags, the status
page; refused while the file still lists customers), the router table sends it no customer
(`--registry`), then `decommission.yml` runs this check, waits for a person's approval, destroys the
stack and removes it; then a pull request deletes the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleet.aws import cluster_snapshots
from fleet.files import MAX_INPUT_BYTES, display_path, read_text
from fleet.inputs import load_fleet
from fleet.lifecycle import decommission_error, router_errors
from fleet.options import REPO_ROOT, EndpointOption, RegistryRegionOption, RootOption
from model.cells import CELL_ID, Cell
from model.contract import DEFAULT_ROUTER_TABLE, database_cluster, final_snapshot
from model.errors import InputError, InputErrors, option_error
from model.fleet import CELLS_DIR
from model.lifecycle import orphans, snapshot_problems, stack_names, state_databases

stderr = Console(stderr=True)
decommission_app = typer.Typer(
    help="Retire a cell: check it is safe to destroy; find stacks with no cell file.", no_args_is_help=True,
    pretty_exceptions_enable=False,
)

RouterTableOption = Annotated[str, typer.Option("--router-table", help="The cell router's table (API key -> cell).")]


def _program_state(cell: Cell) -> str:
    """The cell program's resources under Pulumi's mocks, shaped like `pulumi stack export`."""
    from fleet.preview import preview_cell

    resources = [{"urn": r.urn, "type": r.type, "protect": r.protect, "inputs": r.inputs, "outputs": r.state}
                 for r in preview_cell(cell).resources]
    return json.dumps({"version": 3, "deployment": {"resources": resources}})


@decommission_app.command()
def check(
    cell: Annotated[str, typer.Argument(help="Cell id (a file cells/<cell-id>.yaml marked decommission: true).")],
    state: Annotated[Path | None, typer.Option(
        "--state", help="`pulumi stack export` of the cell's stack (default: the cell program under mocks).",
        dir_okay=False)] = None,
    registry: Annotated[bool, typer.Option(
        "--registry", help="Check the router table in DynamoDB and the database's snapshots in RDS.")] = False,
    router_table: RouterTableOption = DEFAULT_ROUTER_TABLE,
    region: RegistryRegionOption = None,
    endpoint_url: EndpointOption = None,
    rds_endpoint_url: Annotated[str | None, typer.Option("--rds-endpoint-url", help="RDS endpoint (an emulator).")]
    = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Exit 0 only when destroying the cell's stack is safe: marked, no customers routed, the database kept."""
    if not CELL_ID.match(cell):
        raise typer.BadParameter(f"{cell[:60]!r} is not a cell id", param_hint="CELL")
    fleet = load_fleet(root)  # refuses a decommissioning cell file that still lists customers
    retiring = fleet.retiring(cell)
    if retiring is None:
        if cell not in fleet:
            raise InputErrors([option_error("CELL", "cell", f"no cell file {CELLS_DIR}/{cell}.yaml")])
        raise InputErrors([decommission_error(root, cell, "the cell is not marked `decommission: true`; mark it "
                                                          "(and merge) first: that takes it out of rollouts")])
    errors = router_errors(root, fleet, router_table, region, endpoint_url) if registry else []
    shown = display_path(state, root) if state is not None else f"(program of {cell} under mocks)"
    text = read_text(state, shown) if state is not None else _program_state(retiring)
    databases = state_databases(text, shown)
    cluster = database_cluster(cell)
    snapshots = {cluster: cluster_snapshots(cluster, region, rds_endpoint_url)} if registry else {}
    errors.extend(decommission_error(root, cell, f"{problem} (from {shown})")
                  for problem in snapshot_problems(databases, snapshots))
    if errors:
        raise InputErrors(errors)
    kept = [f"{db.identifier}: " + (f"snapshot {db.final_snapshot} on destroy" if db.final_snapshot
                                     and not db.skip_final_snapshot else "no final snapshot (not protected)")
            for db in databases]
    if snapshots.get(cluster):
        kept.append(f"{cluster}: existing snapshots {', '.join(snapshots[cluster])}")
    sys.stdout.write(json.dumps({"cell": cell, "cluster": cluster, "safe": True, "databases": kept,
                                 "final_snapshot": final_snapshot(cluster)}, sort_keys=True) + "\n")
    stderr.print(f"{cell}: safe to destroy ({'; '.join(kept) or 'no database'})")


@decommission_app.command("list")
def retiring_cells(root: RootOption = REPO_ROOT) -> None:
    """The cells whose files say `decommission: true`, as a JSON list (decommission.yml's matrix)."""
    sys.stdout.write(json.dumps([c.id for c in load_fleet(root).decommissioning]) + "\n")


@decommission_app.command("orphans")
def orphan_stacks(
    stacks: Annotated[Path, typer.Option(
        "--stacks", help="`pulumi stack ls --json` output; - for stdin.", dir_okay=False, allow_dash=True)],
    root: RootOption = REPO_ROOT,
) -> None:
    """Stacks in the backend with no cell file (and not reserved): listed on stdout, exit 1 when any."""
    if str(stacks) == "-":
        text, shown = sys.stdin.read(MAX_INPUT_BYTES + 1), "(stdin)"
        if len(text) > MAX_INPUT_BYTES:
            raise InputErrors([InputError(shown, 1, "(file)", f"input files are limited to {MAX_INPUT_BYTES:,} bytes")])
    else:
        shown = display_path(stacks, root)
        text = read_text(stacks, shown)
    fleet = load_fleet(root)
    found = orphans(stack_names(text, shown), fleet.declared_ids)
    for stack in found:
        sys.stdout.write(f"{stack}\n")
    if found:
        stderr.print(f"{len(found)} orphan stack(s) with no cell file: {', '.join(found)}; "
                     "restore each file with decommission: true, then run decommission.yml")
        raise typer.Exit(1)
    stderr.print(f"no orphan stacks ({len(fleet.declared_ids)} cell files)")
