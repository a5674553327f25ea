"""What every CLI command shares: the fleet root option and where documents go.

Kept apart from `fleet.cli` so each capability's commands can import it without a cycle.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

REPO_ROOT = Path(__file__).resolve().parent.parent

RootOption = Annotated[
    Path,
    typer.Option("--root", help="Fleet repository (cells/, policies, migrations/).", file_okay=False),
]


def emit(text: str, out: Path | None) -> None:
    """Write a document to `out`, or to stdout when `out` is None."""
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
