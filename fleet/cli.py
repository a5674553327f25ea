"""`fleet` / `python -m fleet`: the one Typer app, composed here (see DESIGN.md, CLI contract).

Documents go to stdout or --out; human summaries to stderr. Exit 0 on success,
1 on invalid input (one `path:line: field: message` line per problem), 2 on usage errors.
"""

from __future__ import annotations

import io
import json
import sys
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fleet.commands import alerts, diff, gateway, gitops, migrate, rollout, status
from fleet.commands.decommission import decommission_app
from fleet.commands.flags import flags_app
from fleet.inputs import load_fleet, load_inputs
from fleet.options import REPO_ROOT, AtOption, DocFormat, RootOption, day, emit, table_width
from model.errors import InputErrors

app = typer.Typer(
    name="fleet",
    help="cellfleet: validate, build, plan and roll out a fleet of cells.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)


class PreviewFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _version(show: bool) -> None:
    if show:
        try:
            version = metadata.version("cellfleet")
        except metadata.PackageNotFoundError:
            version = "unknown"
        sys.stdout.write(f"fleet (cellfleet) {version}\n")
        raise typer.Exit()


@app.callback()
def _group(
    _show_version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """cellfleet: validate, build, plan and roll out a fleet of cells."""


@app.command()
def check(
    root: RootOption = REPO_ROOT,
    output_format: Annotated[DocFormat, typer.Option("--format", help="text (summary on stderr) or json (on stdout).")]
    = DocFormat.TEXT,
) -> None:
    """Validate every input (cells, rollout policy, routes, migrations); one line per problem, exit 1 if any."""
    try:
        inputs = load_inputs(root)
    except InputErrors as exc:
        if output_format is DocFormat.JSON:
            errors = [{"path": e.path, "line": e.line, "field": e.field, "message": e.message} for e in exc.errors]
            sys.stdout.write(json.dumps({"valid": False, "errors": errors}, indent=2) + "\n")
        raise
    counts = {"cells": len(inputs.fleet.cells), "waves": len(inputs.plan.waves),
              "routes": len(inputs.routes.config.routes), "migrations": len(inputs.migrations)}
    if output_format is DocFormat.JSON:
        sys.stdout.write(json.dumps({"valid": True, "errors": [], **counts}, indent=2) + "\n")
    stderr.print(f"ok: {counts['cells']} cells, {counts['waves']} waves, "
                 f"{counts['routes']} routes, {counts['migrations']} migrations valid")


@app.command()
def build(
    out: Annotated[Path, typer.Option("--out", help="Output folder.", file_okay=False)] = Path("build"),
    at: AtOption = None,
    root: RootOption = REPO_ROOT,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache-dir", help="Inventory cache (default: ROOT/.fleet-cache/inventories).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every cell program (cache neither read nor kept).")]
    = False,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (default: all cores).")] = None,
) -> None:
    """Check every input, then write every generated artefact for day --at under --out and print a summary."""
    import tempfile

    from rich.progress import Progress

    from fleet.build import build_inventories, fleet_documents
    from fleet.inventory_cache import DEFAULT_CACHE

    when = day(at)
    with tempfile.TemporaryDirectory(prefix="fleet-build-") as scratch:
        cache = Path(scratch) if no_cache else (cache_dir or root / DEFAULT_CACHE)
        rendered = fleet_documents(root, when, cache)  # checks every input (or an earlier build of the same did)
        with Progress(console=stderr, transient=True) as progress:
            task = progress.add_task("cell programs", total=len(rendered.cells))
            built = build_inventories(root, rendered.cells, cache, jobs=jobs, done=lambda cell_id: progress.update(
                task, advance=1, description=f"cell programs ({cell_id})"))
    counts = built.counts
    files = {**built.files, **rendered.files}
    _remove_stale(out, files)
    for relative, text in sorted(files.items()):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    table = Table(title=f"fleet build for {when.isoformat()}: {len(rendered.cells)} cells -> {out}")
    for column in ("cell", "tier", "region", "resources"):
        table.add_column(column, justify="right" if column == "resources" else "left")
    for cell_id, tier, region in rendered.cells:
        table.add_row(cell_id, tier, region, str(counts[cell_id]))
    stderr.print(table)
    stderr.print(f"cells: {len(counts)} inventories, {sum(counts.values())} resources; "
                 f"ran {built.ran} cell programs, {len(counts) - built.ran} from cache")
    for line in rendered.summary:
        stderr.print(line)


def _remove_stale(out: Path, files: dict[str, str]) -> None:
    """Delete what an earlier build wrote that this one does not (a removed cell's inventory)."""
    folders = {relative.split("/", 1)[0] for relative in files if "/" in relative}
    for folder in sorted(folders):
        for path in sorted((out / folder).rglob("*")) if (out / folder).is_dir() else []:
            if path.is_file() and path.relative_to(out).as_posix() not in files:
                path.unlink()


@app.command()
def preview(
    cell: Annotated[str, typer.Argument(help="Cell id (a file cells/<cell-id>.yaml).")],
    output_format: Annotated[PreviewFormat, typer.Option("--format", help="table or json.")] = PreviewFormat.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Write the document here instead of stdout.")] = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Run one cell's stack program offline under mocks and print its resource inventory."""
    fleet = load_fleet(root)
    if cell not in fleet:
        raise typer.BadParameter(f"unknown cell {cell[:60]!r}; cells: {', '.join(fleet.ids)}", param_hint="CELL")
    from fleet.inventory import inventory_document, key_properties, to_json
    from fleet.preview import preview_cell

    document = inventory_document(preview_cell(fleet.cell(cell)))
    if output_format is PreviewFormat.JSON:
        emit(to_json(document), out)
        return
    table = Table(title=f"stack {cell}: {document['resource_count']} resources")
    for column in ("type", "name", "parent", "protect", "key properties"):
        table.add_column(column, overflow="fold")
    for entry in document["resources"]:
        table.add_row(entry["type"], entry["name"], entry["parent"], "yes" if entry["protect"] else "", key_properties(entry))
    console = Console(width=table_width(), file=io.StringIO(), record=True)
    console.print(table)
    emit(console.export_text(), out)


@app.command()
def stacks(root: RootOption = REPO_ROOT) -> None:
    """Every Pulumi stack of the fleet (reserved stacks, then cells) as a JSON list, for CI matrices."""
    from fleet.stacks import valid_stacks

    sys.stdout.write(json.dumps(valid_stacks(load_fleet(root))) + "\n")


app.add_typer(gateway.gateway_app, name="gateway")
app.command("runbook")(migrate.runbook)
app.add_typer(migrate.migrate_app, name="migrate")
app.command("plan")(rollout.plan)
app.command("pipeline")(rollout.pipeline)
app.add_typer(rollout.rollout_app, name="rollout")
app.command("status")(status.status)
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(flags_app, name="flags")
app.add_typer(gitops.gitops_app, name="gitops")
app.add_typer(diff.diff_app, name="diff")
app.add_typer(decommission_app, name="decommission")


def main() -> None:
    """Run the CLI, turning input errors into `path:line: field: message` lines and exit 1."""
    try:
        app(prog_name="fleet")
    except InputErrors as exc:
        report(exc)
        sys.exit(1)


def report(exc: InputErrors) -> None:
    """Print every input error, one `path:line: field: message` line each, on stderr."""
    for error in exc.errors:
        print(error, file=sys.stderr)
