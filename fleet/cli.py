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

from fleet.cli_common import REPO_ROOT, RootOption, emit
from fleet.errors import InputError, InputErrors
from fleet.loader import load_fleet

app = typer.Typer(
    name="fleet",
    help="cellfleet: validate, build, plan and roll out a fleet of cells.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)

@app.callback()
def _group() -> None:
    """cellfleet: validate, build, plan and roll out a fleet of cells."""


@app.command()
def check(root: RootOption = REPO_ROOT) -> None:
    """Validate every input (cells, rollout policy, routes, migrations); one line per problem, exit 1 if any."""
    from fleet.build import document_steps

    fleet = load_fleet(root)
    errors: list[InputError] = []
    checked: list[str] = []
    for step in document_steps():  # each step validates its own inputs while rendering (pure, cheap)
        try:
            step.run(fleet)
            checked.append(step.name)
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    stderr.print(f"ok: {len(fleet.cells)} cells valid; {', '.join(checked)} inputs valid")


@app.command()
def diff(
    base: Annotated[str, typer.Option("--base", help="Git revision to compare against (e.g. origin/main).")],
    head: Annotated[str | None, typer.Option("--head", help="Git revision to compare (default: the working tree).")] = None,
    root: RootOption = REPO_ROOT,
    output_format: Annotated[str, typer.Option("--format", help="markdown (PR comment) or json (CI matrix).")] = "markdown",
    out: Annotated[Path | None, typer.Option("--out", help="Write the document here instead of stdout.")] = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Inventory cache (default: ROOT/.fleet-cache).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Re-run every cell at both revisions.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Worker processes (default: all cores).")] = None,
) -> None:
    """Which cells and generated documents change between two revisions, offline, under Pulumi's mocks."""
    from fleet.diff import run_diff
    from fleet.diff_report import render_json, render_markdown
    from fleet.inventory_cache import DEFAULT_CACHE

    if output_format not in {"markdown", "json"}:
        raise typer.BadParameter("--format must be markdown or json")
    cache = None if no_cache else (cache_dir or root / DEFAULT_CACHE)
    result = run_diff(root, base, head, cache=cache, jobs=jobs)
    text = render_markdown(result) if output_format == "markdown" else render_json(result)
    emit(text, out)
    stderr.print(
        f"{len(result.stacks)} of {len(result.tiers)} cells change, {len(result.documents)} documents; "
        f"ran {result.ran} cell programs, {result.cached} from cache"
    )


@app.command()
def stacks(root: RootOption = REPO_ROOT) -> None:
    """Every Pulumi stack of the fleet (reserved stacks, then cells) as a JSON list, for CI matrices."""
    import json

    from fleet.stacks import valid_stacks

    sys.stdout.write(json.dumps(valid_stacks(load_fleet(root))) + "\n")


from fleet.preview import register as _register_preview  # noqa: E402 - the command module adds itself

_register_preview(app)

from landing_zone.cli import gateway_app as _gateway_app  # noqa: E402 - the gateway sub-app (issue 4)

app.add_typer(_gateway_app, name="gateway")


from migrations.cli import register as _register_migrations  # noqa: E402

_register_migrations(app)

from pipelines.cli import register as _register_pipelines  # noqa: E402 - plan, pipeline, rollout (issue 3)

_register_pipelines(app)


def main() -> None:
    """Run the CLI, turning input errors into `path:line: field: message` lines and exit 1."""
    try:
        app(prog_name="fleet")
    except InputErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        sys.exit(1)
