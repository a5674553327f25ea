"""`python -m fleet gateway ...`: render the edge for a target, show readiness and the timeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleet.aws import read_registry
from fleet.inputs import load_fleet, load_routes
from fleet.lifecycle import router_errors
from fleet.options import (
    REPO_ROOT,
    AtOption,
    DocFormat,
    EndpointOption,
    RegistryRegionOption,
    RegistryTableOption,
    RootOption,
    day,
    emit,
)
from landing_zone.gateway import RENDERERS
from landing_zone.lifecycle import compile_edge
from landing_zone.readiness import Support, declared_support, gate, status_table
from landing_zone.render_nginx import NginxOptions, render_nginx
from landing_zone.timeline import render_timeline, timeline_rows
from model.contract import DEFAULT_REGISTRY_TABLE, DEFAULT_ROUTER_TABLE
from model.errors import InputErrors
from model.routes import parse_config_paths, parse_upstream_overrides

stderr = Console(stderr=True)

gateway_app = typer.Typer(
    help="Landing Zone edge: API versions, lifecycle headers, readiness gate, gateway configs.",
    add_completion=False,
    pretty_exceptions_enable=False,
)

RegistryOption = Annotated[
    bool, typer.Option("--registry", help="Read cell versions from the control-plane registry in DynamoDB.")
]
FormatOption = Annotated[DocFormat, typer.Option("--format", help="text or json.")]


def _support(
    root: Path, registry: bool, table: str, region: str | None, endpoint: str | None, router_table: str | None = None
) -> tuple[Support, tuple[str, ...], str]:
    fleet = load_fleet(root)  # a decommissioning cell file that still lists customers is refused here
    if not registry:
        return declared_support(fleet), fleet.ids, "declared in cells/"
    if router_table is not None and (problems := router_errors(root, fleet, router_table, region, endpoint)):
        raise InputErrors(problems)  # the router must send a decommissioning cell no customer
    return read_registry(table, region, endpoint), fleet.ids, f"registry {table}"


@gateway_app.callback(invoke_without_command=True)
def gateway(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option("--target", help="Gateway to render for: aws, envoy, kong or nginx.")] = None,
    at: AtOption = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Upstream URL, NAME=URL (e.g. cell_router=http://127.0.0.1:8081).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the config here instead of stdout.")] = None,
    plain_http: Annotated[
        bool, typer.Option("--plain-http", help="nginx: listen without TLS or HSTS, for a TLS terminator in front.")
    ] = False,
    tls_cert: Annotated[str, typer.Option("--tls-cert", help="nginx: listener certificate (chain) file.")] = "tls/edge.crt",
    tls_key: Annotated[str, typer.Option("--tls-key", help="nginx: listener private key file.")] = "tls/edge.key",
    upstream_ca: Annotated[
        str, typer.Option("--upstream-ca", help="nginx: CA file that upstream certificates must chain to.")
    ] = "/etc/ssl/certs/ca-certificates.crt",
    listen: Annotated[int, typer.Option("--listen", min=1, max=65535, help="nginx: port to listen on.")] = 8443,
    registry: RegistryOption = False,
    registry_table: RegistryTableOption = DEFAULT_REGISTRY_TABLE,
    router_table: Annotated[str, typer.Option(
        "--router-table", help="With --registry: the cell router's table, checked for decommissioning cells.")]
    = DEFAULT_ROUTER_TABLE,
    region: RegistryRegionOption = None,
    endpoint_url: EndpointOption = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Render the edge config for one target; the readiness gate runs first (exit 1 on lagging cells)."""
    if ctx.invoked_subcommand is not None:
        return
    if target not in RENDERERS:
        raise typer.BadParameter(f"choose one of: {', '.join(sorted(RENDERERS))}", param_hint="--target")
    when = day(at)
    routes = load_routes(root)
    overrides = parse_upstream_overrides(set_ or [], routes.config.upstreams)
    files = parse_config_paths({"--tls-cert": tls_cert, "--tls-key": tls_key, "--upstream-ca": upstream_ca})
    plan = compile_edge(routes, when, overrides)
    support, cells, source = _support(root, registry, registry_table, region, endpoint_url, router_table)
    gate(routes, plan, support, cells, source)
    _, render = RENDERERS[target]
    if target == "nginx":
        options = NginxOptions(str(listen), plain_http, files["--tls-cert"], files["--tls-key"], files["--upstream-ca"])
        emit(render_nginx(plan, options), out)
    else:
        emit(render(plan), out)
    stderr.print(f"{target}: {len(plan.exposed)} of {len(plan.routes)} routes exposed on {when.isoformat()}"
                 + (f" -> {out}" if out else ""))


@gateway_app.command()
def status(
    registry: RegistryOption = False,
    registry_table: RegistryTableOption = DEFAULT_REGISTRY_TABLE,
    region: RegistryRegionOption = None,
    endpoint_url: EndpointOption = None,
    root: RootOption = REPO_ROOT,
    output_format: FormatOption = DocFormat.TEXT,
) -> None:
    """Per service and version: how many cells are ready, and which are not."""
    routes = load_routes(root)
    support, cells, source = _support(root, registry, registry_table, region, endpoint_url)
    rows = status_table(routes, support, cells)
    if output_format is DocFormat.JSON:
        document = {"source": source, "versions": [
            {"service": r.service.value, "version": r.version, "ready": list(r.ready), "lagging": list(r.lagging)}
            for r in rows]}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return
    lines = [f"# cell readiness ({source})", "service   version  ready  lagging"]
    for row in rows:
        total = len(row.ready) + len(row.lagging)
        lagging = ", ".join(row.lagging) or "-"
        lines.append(f"{row.service.value:<9} {row.version:<8} {len(row.ready):>2}/{total:<3} {lagging}")
    sys.stdout.write("\n".join(lines) + "\n")
    stderr.print(f"{sum(r.all_ready for r in rows)} of {len(rows)} service versions ready on every cell")


@gateway_app.command()
def timeline(at: AtOption = None, root: RootOption = REPO_ROOT, output_format: FormatOption = DocFormat.TEXT) -> None:
    """Each route's deploy -> enable -> deprecate -> sunset dates, and its phase on --at."""
    when = day(at)
    routes = load_routes(root)
    rows = timeline_rows(routes, when)
    if output_format is DocFormat.JSON:
        fields = ("deploy", "enable", "deprecate", "sunset")
        document = {"at": when.isoformat(), "routes": [
            {"path": r.path, "handler": r.handler, "phase": r.phase,
             **{f: (d.isoformat() if (d := getattr(r, f)) else None) for f in fields}} for r in rows]}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return
    sys.stdout.write(render_timeline(rows, when))
