"""What every CLI command shares: the fleet root, the day, the output, and turning input into typed values."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from model.cells import ACCOUNT, AWS_REGIONS

REPO_ROOT = Path(__file__).resolve().parent.parent

RootOption = Annotated[
    Path,
    typer.Option("--root", help="Fleet repository (cells/, policies, migrations/).", file_okay=False, exists=True),
]
AtOption = Annotated[str | None, typer.Option("--at", help="Day to render for, YYYY-MM-DD (default: today in UTC).")]


class DocFormat(StrEnum):
    """`--format` of commands that print either a human view or JSON."""

    TEXT = "text"
    JSON = "json"


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


def region(value: str | None) -> str | None:
    """Option callback: an AWS region name (it ends up in ARNs), or a usage error."""
    if value is not None and value not in AWS_REGIONS:
        raise typer.BadParameter(f"{value[:40]!r} is not an AWS region, e.g. us-east-1")
    return value


# The control-plane registry, as the commands that gate on it read it (with their own `--registry` flag).
RegistryTableOption = Annotated[str, typer.Option("--registry-table", help="Registry table name.")]
RegistryRegionOption = Annotated[
    str | None, typer.Option("--region", help="AWS region of the registry.", callback=region)]
EndpointOption = Annotated[str | None, typer.Option("--endpoint-url", help="DynamoDB endpoint (e.g. a local emulator).")]


def account(value: str | None) -> str | None:
    """Option callback: a 12-digit AWS account id, or a usage error."""
    if value is not None and not ACCOUNT.match(value):
        raise typer.BadParameter(f"{value[:40]!r} is not an AWS account id (12 digits)")
    return value


def table_width(unbounded: int = 200) -> int:
    """Columns for a table: $COLUMNS or the terminal's; `unbounded` when writing to a pipe or file."""
    return shutil.get_terminal_size((unbounded, 24)).columns


def emit(text: str, out: Path | None) -> None:
    """Write a document to `out`, or to stdout when `out` is None."""
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
