"""`python -m fleet`: the one entry point for CI and people (see DESIGN.md, CLI contract).

Documents go to stdout or --out; human summaries to stderr. Exit 0 on success,
1 on invalid input (one `path:line: field: message` line per problem), 2 on usage errors.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleet.errors import InputErrors
from fleet.loader import load_fleet

REPO_ROOT = Path(__file__).resolve().parent.parent

app = typer.Typer(
    name="fleet",
    help="cellfleet: validate, build, plan and roll out a fleet of cells.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)

RootOption = Annotated[
    Path,
    typer.Option("--root", help="Fleet repository (cells/, policies, migrations/).", file_okay=False),
]


@app.callback()
def _group() -> None:
    """cellfleet: validate, build, plan and roll out a fleet of cells."""


@app.command()
def check(root: RootOption = REPO_ROOT) -> None:
    """Validate every input of the fleet; one line per problem, exit 1 if any."""
    fleet = load_fleet(root)
    stderr.print(f"ok: {len(fleet.cells)} cells valid")


def main() -> None:
    """Run the CLI, turning input errors into `path:line: field: message` lines and exit 1."""
    try:
        app(prog_name="fleet")
    except InputErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        sys.exit(1)
