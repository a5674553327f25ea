"""`python -m fleet gateway ...`: render the edge for a target, show readiness and the timeline."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fleet.cli_common import emit
from fleet.contract import DEFAULT_REGISTRY_TABLE
from fleet.errors import InputError, InputErrors
from fleet.loader import load_fleet
from landing_zone.gateway import RENDERERS, today
from landing_zone.lifecycle import compile_edge, parse_overrides
from landing_zone.readiness import Support, declared_support, gate, registry_support, status_table
from landing_zone.routes import load_routes
from landing_zone.timeline import render_timeline, timeline_rows

REPO_ROOT = Path(__file__).resolve().parent.parent
RootOption = Annotated[
    Path,
    typer.Option("--root", help="Fleet repository (cells/, landing_zone/api-gateway-config.yaml).", file_okay=False),
]
stderr = Console(stderr=True)

gateway_app = typer.Typer(
    help="Landing Zone edge: API versions, lifecycle headers, readiness gate, gateway configs.",
    add_completion=False,
    pretty_exceptions_enable=False,
)

AtOption = Annotated[str | None, typer.Option("--at", help="Day to compile for, YYYY-MM-DD (default: today in UTC).")]
RegistryOption = Annotated[
    bool, typer.Option("--registry", help="Read cell versions from the control-plane registry in DynamoDB.")
]
TableOption = Annotated[str, typer.Option("--registry-table", help="Registry table name.")]
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region of the registry.")]
EndpointOption = Annotated[str | None, typer.Option("--endpoint-url", help="DynamoDB endpoint (e.g. a local emulator).")]


def _day(text: str | None) -> date:
    if text is None:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2025-06-01", param_hint="--at") from None


def _support(
    root: Path, registry: bool, table: str, region: str | None, endpoint: str | None
) -> tuple[Support, tuple[str, ...], str]:
    fleet = load_fleet(root)
    if not registry:
        return declared_support(fleet), fleet.ids, "declared in cells/"
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resource: Any = boto3.resource("dynamodb", region_name=region, endpoint_url=endpoint)
        support = registry_support(resource.Table(table))
    except (BotoCoreError, ClientError) as exc:
        raise InputErrors([InputError(f"dynamodb:{table}", 1, "registry", f"cannot read the registry: {exc}")]) from None
    return support, fleet.ids, f"registry {table}"


@gateway_app.callback(invoke_without_command=True)
def gateway(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option("--target", help="aws, kong, envoy or nginx.")] = None,
    at: AtOption = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Upstream URL, NAME=URL (e.g. cell_router=http://127.0.0.1:8081).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the config here instead of stdout.")] = None,
    registry: RegistryOption = False,
    registry_table: TableOption = DEFAULT_REGISTRY_TABLE,
    region: RegionOption = None,
    endpoint_url: EndpointOption = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Render the edge config for one target; the readiness gate runs first (exit 1 on lagging cells)."""
    if ctx.invoked_subcommand is not None:
        return
    if target not in RENDERERS:
        raise typer.BadParameter(f"choose one of: {', '.join(sorted(RENDERERS))}", param_hint="--target")
    day = _day(at)
    routes = load_routes(root)
    try:
        overrides = parse_overrides(set_ or [], routes.config.upstreams)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--set") from None
    plan = compile_edge(routes, day, overrides)
    support, cells, source = _support(root, registry, registry_table, region, endpoint_url)
    gate(routes, plan, support, cells, source)
    name, render = RENDERERS[target]
    emit(render(plan), out)
    stderr.print(f"{target}: {len(plan.exposed)} of {len(plan.routes)} routes exposed on {day.isoformat()} -> {out or name}")


@gateway_app.command()
def status(
    registry: RegistryOption = False,
    registry_table: TableOption = DEFAULT_REGISTRY_TABLE,
    region: RegionOption = None,
    endpoint_url: EndpointOption = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Per service and version: how many cells are ready, and which are not."""
    routes = load_routes(root)
    support, cells, source = _support(root, registry, registry_table, region, endpoint_url)
    rows = status_table(routes, support, cells)
    lines = [f"# cell readiness ({source})", "service   version  ready  lagging"]
    for row in rows:
        total = len(row.ready) + len(row.lagging)
        lagging = ", ".join(row.lagging) or "-"
        lines.append(f"{row.service.value:<9} {row.version:<8} {len(row.ready):>2}/{total:<3} {lagging}")
    sys.stdout.write("\n".join(lines) + "\n")
    stderr.print(f"{sum(r.all_ready for r in rows)} of {len(rows)} service versions ready on every cell")


@gateway_app.command()
def timeline(at: AtOption = None, root: RootOption = REPO_ROOT) -> None:
    """Each route's deploy -> enable -> deprecate -> sunset dates, and its phase on --at."""
    day = _day(at)
    routes = load_routes(root)
    sys.stdout.write(render_timeline(timeline_rows(routes, day), day))
