"""What every CLI command shares: the fleet root, the day, the output, and turning input into typed values."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

REPO_ROOT = Path(__file__).resolve().parent.parent

RootOption = Annotated[
    Path,
    typer.Option("--root", help="Fleet repository (cells/, policies, migrations/).", file_okay=False),
]
AtOption = Annotated[str | None, typer.Option("--at", help="Day to render for, YYYY-MM-DD (default: today in UTC).")]


def today() -> date:
    return datetime.now(UTC).date()


def day(text: str | None, option: str = "--at") -> date:
    """`--at` as a date (today in UTC when not given); a usage error when it is not a date."""
    if text is None:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2025-06-01", param_hint=option) from None


def emit(text: str, out: Path | None) -> None:
    """Write a document to `out`, or to stdout when `out` is None."""
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
