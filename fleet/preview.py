"""`fleet preview CELL` and `fleet build`: cell stacks run offline under Pulumi's mocks."""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fleet.build import write_build
from fleet.cli_common import REPO_ROOT, RootOption, emit
from fleet.inventory import inventory_document, key_properties, to_json
from fleet.loader import load_fleet


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def preview(
    cell: Annotated[str, typer.Argument(help="Cell id (a file cells/<cell-id>.yaml).")],
    output_format: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Write the document here instead of stdout.")] = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Run one cell's stack program offline under mocks and print its resource inventory."""
    from modules.cell.build import preview_cell

    fleet = load_fleet(root)
    if cell not in fleet.ids:
        raise typer.BadParameter(f"unknown cell {cell!r}; cells: {', '.join(fleet.ids)}", param_hint="CELL")
    document = inventory_document(preview_cell(fleet.cell(cell)))
    if output_format is Format.JSON:
        emit(to_json(document), out)
        return
    table = Table(title=f"stack {cell}: {document['resource_count']} resources")
    for column in ("type", "name", "parent", "protect", "key properties"):
        table.add_column(column, overflow="fold")
    for entry in document["resources"]:
        table.add_row(entry["type"], entry["name"], entry["parent"], "yes" if entry["protect"] else "", key_properties(entry))
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(table)
    emit(console.export_text(), out)


def build(
    out: Annotated[Path, typer.Option("--out", help="Output folder.", file_okay=False)] = Path("build"),
    root: RootOption = REPO_ROOT,
) -> None:
    """Check every input, then write every generated artefact under --out and print a summary."""
    from modules.cell.build import STEP_NAME, resource_counts

    fleet = load_fleet(root)
    results = write_build(fleet, out)
    counts: dict[str, int] = {}
    for name, result in results:
        if name == STEP_NAME:
            counts = resource_counts(result)
    table = Table(title=f"fleet build: {len(fleet.cells)} cells -> {out}")
    for column in ("cell", "tier", "region", "resources"):
        table.add_column(column, justify="right" if column == "resources" else "left")
    for cell in fleet.cells:
        table.add_row(cell.id, cell.tier.value, cell.region, str(counts.get(cell.id, "-")))
    stderr = Console(stderr=True)
    stderr.print(table)
    for name, result in results:
        for line in result.summary:
            stderr.print(f"[bold]{name}[/bold]: {line}" if not line.startswith(f"{name}:") else line)


def register(app: typer.Typer) -> None:
    """Add `preview` and `build` to the `fleet` CLI."""
    app.command()(preview)
    app.command()(build)
