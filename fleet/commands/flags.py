"""`fleet flags ...`: render the flagd flag file (after the readiness gate), status, explain one customer."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from activation.gate import Releases, declared_releases, gate
from activation.plans import PlannedFlag
from activation.render import render_flags
from activation.views import explain as explain_flag
from activation.views import render_status, status_rows
from fleet.aws import read_releases
from fleet.flag_inputs import load_flags
from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT, AtOption, EndpointOption, RegistryRegionOption, RegistryTableOption, RootOption, day, emit
from model.cells import Fleet
from model.contract import DEFAULT_REGISTRY_TABLE
from model.flags import SUBJECT_ID, flag_file

stderr = Console(stderr=True)

flags_app = typer.Typer(
    help="Feature flags: activation plans (flags/*.yaml) rendered for flagd, gated on deployed releases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RegistryOption = Annotated[
    bool, typer.Option("--registry", help="Read cell releases from the control-plane registry in DynamoDB.")
]


def _inputs(root: Path) -> tuple[Fleet, tuple[PlannedFlag, ...]]:
    fleet = load_fleet(root)
    return fleet, load_flags(root, fleet)


def _releases(fleet: Fleet, registry: bool, table: str, region: str | None, endpoint: str | None) -> tuple[Releases, str]:
    if not registry:
        return declared_releases(fleet), "declared in cells/"
    return read_releases(table, region, endpoint), f"registry {table}"


@flags_app.command()
def render(
    at: Annotated[str | None, typer.Option("--at", help="Render the snapshot of this day, YYYY-MM-DD "
                                                        "(default: the whole schedule, as published).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the flag file here instead of stdout.")] = None,
    registry: RegistryOption = False,
    registry_table: RegistryTableOption = DEFAULT_REGISTRY_TABLE,
    region: RegistryRegionOption = None,
    endpoint_url: EndpointOption = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """The fleet's flagd flag file; the readiness gate runs first (exit 1 naming lagging cells)."""
    when = None if at is None else day(at)
    fleet, flags = _inputs(root)
    releases, source = _releases(fleet, registry, registry_table, region, endpoint_url)
    gate(flags, releases, when, source)
    emit(render_flags(flags, when), out)
    what = "the whole schedule" if when is None else f"the snapshot of {when.isoformat()}"
    stderr.print(f"flags: {len(flags)} flags, {what} -> {out or 'stdout'}")


@flags_app.command()
def status(
    at: AtOption = None,
    registry: RegistryOption = False,
    registry_table: RegistryTableOption = DEFAULT_REGISTRY_TABLE,
    region: RegistryRegionOption = None,
    endpoint_url: EndpointOption = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Per flag on --at: state, stage, percent, scope, allowlist size and whether the gate lets it through."""
    when = day(at)
    fleet, flags = _inputs(root)
    releases, source = _releases(fleet, registry, registry_table, region, endpoint_url)
    rows = status_rows(flags, releases, when)
    sys.stdout.write(render_status(rows, when, source))
    blocked = [r.key for r in rows if r.lagging]
    stderr.print(f"{len(rows)} flags, {len(blocked)} blocked by the readiness gate{': ' + ', '.join(blocked) if blocked else ''}")


@flags_app.command()
def explain(
    flag: Annotated[str, typer.Argument(help="Flag key (a file flags/<flag-key>.yaml).")],
    customer: Annotated[str, typer.Option("--customer", help="Customer id (the evaluation's targeting key).")],
    cell: Annotated[str | None, typer.Option("--cell", help="Cell the customer is served by (its id, tier and region "
                                                           "join the context).")] = None,
    at: AtOption = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Which variant a customer gets on --at, flagd's reason, and why (kill switch, lists, scope, stage, bucket)."""
    when = day(at)
    if not re.match(SUBJECT_ID, customer):
        raise typer.BadParameter(f"{customer!r} is not a customer id (letters, digits, . _ : @ -)", param_hint="--customer")
    fleet, flags = _inputs(root)
    found = {f.key: f for f in flags}
    if flag not in found:
        raise typer.BadParameter(f"no flag {flag!r} ({flag_file(flag)}); flags: {', '.join(sorted(found)) or '-'}",
                                 param_hint="FLAG")
    if cell is not None and cell not in fleet:
        raise typer.BadParameter(f"unknown cell {cell!r}; cells: {', '.join(fleet.ids)}", param_hint="--cell")
    result = explain_flag(found[flag], customer, fleet.cell(cell) if cell else None, when)
    where = f" in {result.cell}" if result.cell else ""
    sys.stdout.write(f"{result.flag} for {result.customer}{where} on {when.isoformat()}: {result.variant or '(code default)'} "
                     f"= {result.value!r} ({result.reason})\nwhy: {result.why}\n")
