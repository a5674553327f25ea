"""`fleet status`: the fleet status page (`--out DIR`: index.html + status.json) or the same data in the terminal."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fleet.aws import scanned
from fleet.inputs import load_inputs
from fleet.options import REPO_ROOT, RootOption
from fleet.stores import DynamoStore, JsonStore, StateStore
from model.contract import CELL_KEY, DEFAULT_REGISTRY_REGION, DEFAULT_ROLLOUT_TABLE, alarm_prefix
from model.errors import InputError, InputErrors
from model.registry import from_item
from statuspage.assemble import fleet_status
from statuspage.model import CellState, FleetStatus, Observed
from statuspage.render import status_document, status_files

stderr = Console(stderr=True)
STYLE = {
    CellState.OPERATIONAL: "green", CellState.UNDER_MAINTENANCE: "blue", CellState.DEGRADED: "yellow",
    CellState.PARTIAL_OUTAGE: "dark_orange", CellState.MAJOR_OUTAGE: "bold red",
}


class StatusFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def instant(text: str | None) -> datetime:
    """`--at` as an aware UTC instant: a day (midnight UTC) or an ISO date-time; now when not given."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date or time like 2026-06-01 or 2026-06-01T12:00:00Z",
                                 param_hint="--at") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_observed(registry: str, rollout_table: str, region: str, endpoint: str | None) -> Observed:
    """The control plane's view: registry releases, rollout state, every cell alarm's state."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ddb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint)
        cloudwatch = boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint)
        def items(table: str) -> list[dict[str, Any]]:
            return [from_item(i) for i in scanned(ddb.scan, TableName=table, ConsistentRead=True)]

        releases = {str(i[CELL_KEY]): i.get("releases", {}) for i in items(registry)}
        rollout = {str(i[CELL_KEY]): i for i in items(rollout_table)}
        alarms: dict[str, str] = {}
        paginator = cloudwatch.get_paginator("describe_alarms")
        pages = paginator.paginate(AlarmNamePrefix=alarm_prefix("").rstrip("-"), AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for page in pages:
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                alarms[alarm["AlarmName"]] = alarm["StateValue"]
    except (BotoCoreError, ClientError) as exc:
        raise InputErrors([InputError(f"dynamodb:{registry}", 1, "registry", f"cannot read the control plane: {exc}")]) from None
    return Observed(datetime.now(UTC).replace(microsecond=0), releases, rollout, alarms)


def terminal_view(status: FleetStatus, console: Console, everything: bool) -> None:
    """The page's content for a shell: banner, rollout, one table per wave (healthy waves folded)."""
    console.print(f"[{STYLE[status.state]}]Fleet: {status.state.label}[/] — data: {status.source} as of "
                  f"{status.data_as_of.isoformat()}")
    rollout = status.rollout
    window = rollout.next_window
    console.print(f"Current wave: {rollout.current_wave or 'none'}; pending approvals: "
                  f"{', '.join(rollout.pending_approvals) or 'none'}; next window: "
                  + (f"{window.cell} {window.opens.isoformat()}" if window else "none"))
    for wave in status.waves:
        if wave.state is CellState.OPERATIONAL and not everything and len(wave.cells) > 3:
            console.print(f"[green]wave {wave.name}: operational, {len(wave.cells)} cells[/] (--all to list)")
            continue
        table = Table(title=f"wave {wave.name}: {wave.state.label}", expand=False)
        table.add_column("cell", no_wrap=True)
        table.add_column("state")
        for service in status.services:
            table.add_column(service)
        for cell in wave.cells:
            releases = [f"[yellow]{cell.releases[s]}*[/]" if s in cell.drift else cell.releases.get(s, "-")
                        for s in status.services]
            reason = f" ({'; '.join(cell.reasons)})" if cell.reasons else ""
            table.add_row(cell.id, f"[{STYLE[cell.state]}]{cell.state.label}[/]{reason}", *releases)
        console.print(table)
    for migration in status.migrations:
        console.print(f"migration {migration.id}:")
        for line in migration.lines:
            console.print(f"  {line}", markup=False)
    for flag in status.flags:
        console.print(f"flag {flag.key}: {flag.state}, stage {flag.stage}, {flag.percent}% of {flag.scope}; gate {flag.gate}")


AtOpt = Annotated[str | None, typer.Option("--at", help="Instant to show: YYYY-MM-DD or ISO date-time (default: now).")]
OutOpt = Annotated[Path | None, typer.Option("--out", file_okay=False, help="Write index.html and status.json here.")]
FormatOpt = Annotated[StatusFormat, typer.Option("--format", help="Terminal output without --out: text or json.")]
RegistryOpt = Annotated[str | None, typer.Option(
    "--registry", help="Read the control plane: registry table name (rollout state and alarms are read too).")]
RolloutTableOpt = Annotated[str, typer.Option("--rollout-table", help="Rollout-state table (with --registry).")]
RegionOpt = Annotated[str, typer.Option("--region", envvar="AWS_REGION", help="Control-plane region (with --registry).")]
EndpointOpt = Annotated[str | None, typer.Option("--endpoint-url", help="AWS endpoint (a local emulator).")]
MigrationsOpt = Annotated[str | None, typer.Option(
    "--migrations-table", help="Migration state in DynamoDB (default: the local .fleet-state).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Terminal view: list the cells of healthy waves too.")]


def status(
    root: RootOption = REPO_ROOT,
    at: AtOpt = None,
    out: OutOpt = None,
    output_format: FormatOpt = StatusFormat.TEXT,
    registry: RegistryOpt = None,
    rollout_table: RolloutTableOpt = DEFAULT_ROLLOUT_TABLE,
    region: RegionOpt = DEFAULT_REGISTRY_REGION,
    endpoint: EndpointOpt = None,
    migrations_table: MigrationsOpt = None,
    everything: AllOpt = False,
) -> None:
    """The whole fleet at a glance: cells by wave, releases and drift, rollout, migrations, flags."""
    when = instant(at)
    inputs = load_inputs(root)
    observed = read_observed(registry, rollout_table, region, endpoint) if registry else Observed()
    store: StateStore = DynamoStore(migrations_table, region=region) if migrations_table else JsonStore(root)
    migrations = tuple((plan, store.load(plan.id)) for plan in inputs.migrations)
    result = fleet_status(inputs.fleet, inputs.plan, when, observed, migrations, inputs.flags)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in status_files(result).items():
            (out / name).write_text(text, encoding="utf-8")
        stderr.print(f"{result.state.label}: wrote {out / 'index.html'} and {out / 'status.json'}")
        return
    if output_format is StatusFormat.JSON:
        from model.jsonio import dumps

        sys.stdout.write(dumps(status_document(result)))
        return
    terminal_view(result, Console(), everything)
