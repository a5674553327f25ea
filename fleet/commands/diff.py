"""`fleet diff` (whole, or one shard with `--shard K/N`) and `fleet diff merge PART...`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleet.diff import DiffResult
from fleet.options import REPO_ROOT, AtOption, RootOption, day, emit

stderr = Console(stderr=True)
diff_app = typer.Typer(help="Which cells and generated documents change between two revisions, offline.")


class DiffFormat(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"


def _render(result: DiffResult, output_format: DiffFormat) -> str:
    from fleet.diff_report import render_json, render_markdown

    return render_markdown(result) if output_format is DiffFormat.MARKDOWN else render_json(result)


FormatOption = Annotated[DiffFormat, typer.Option(
    "--format", help="markdown (PR comment) or json (CI matrix); a --shard run always writes its partial JSON.")]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write the document here instead of stdout.")]


@diff_app.callback(invoke_without_command=True)
def diff(
    ctx: typer.Context,
    base: Annotated[str | None, typer.Option("--base", help="Git revision to compare against (e.g. origin/main).")]
    = None,
    head: Annotated[str | None, typer.Option("--head", help="Git revision to compare (default: the working tree).")] = None,
    root: RootOption = REPO_ROOT,
    output_format: FormatOption = DiffFormat.MARKDOWN,
    out: OutOption = None,
    at: AtOption = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Inventory cache (default: ROOT/.fleet-cache).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Re-run every cell at both revisions.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (default: all cores).")] = None,
    shard: Annotated[str | None, typer.Option(
        "--shard", help="Diff only shard K of N (e.g. 2/4) and write its partial result (JSON) for `fleet diff merge`.")]
    = None,
) -> None:
    """Which cells and generated documents change between two revisions, offline, under Pulumi's mocks."""
    if ctx.invoked_subcommand is not None:
        return
    if base is None:
        raise typer.BadParameter("--base is required (e.g. --base origin/main)", param_hint="--base")
    from fleet.diff import run_diff
    from fleet.inventory_cache import DEFAULT_CACHE
    from fleet.shards import parse_shard, partial_json, run_shard

    which = None
    if shard is not None:
        try:
            which = parse_shard(shard)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--shard") from None
    cache = None if no_cache else (cache_dir or root / DEFAULT_CACHE)
    if which is None:
        result = run_diff(root, base, head, cache=cache, jobs=jobs, at=day(at))
        emit(_render(result, output_format), out)
        scope = f"{len(result.tiers)} cells"
    else:
        result, cells = run_shard(root, base, head, which, cache=cache, jobs=jobs, at=day(at))
        emit(partial_json(result, which, cells), out)
        scope = f"the {len(cells)} cells of shard {which}"
    stderr.print(
        f"{len(result.stacks)} of {scope} change, {len(result.documents)} documents; "
        f"ran {result.ran} cell programs, {result.cached} from cache" + (f" -> {out}" if out else "")
    )


@diff_app.command()
def merge(
    parts: Annotated[list[Path], typer.Argument(help="The partial results of every shard (`fleet diff --shard K/N --out`).")],
    output_format: FormatOption = DiffFormat.MARKDOWN,
    out: OutOption = None,
) -> None:
    """Join every shard's partial result into the one comment (markdown) or affected-stacks list (json)."""
    from fleet.shards import merge as merge_parts

    result = merge_parts(parts)
    emit(_render(result, output_format), out)
    stderr.print(f"merged {len(parts)} shards: {len(result.stacks)} of {len(result.tiers)} cells change, "
                 f"{len(result.documents)} documents" + (f" -> {out}" if out else ""))
