"""Commands of the wave pipeline: `plan`, `pipeline`, `rollout start|watch|approve|reject`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from fleet import options, rollouts
from fleet.inputs import load_fleet, load_plan
from fleet.options import REPO_ROOT, RootOption, emit
from model.cells import SEMVER
from model.contract import DEFAULT_ROLLOUT_TABLE, RolloutStatus
from pipelines.quotas import QuotaExceeded
from pipelines.render import pipeline_files, plan_json, plan_mermaid, plan_table
from pipelines.settings import OVERRIDABLE
from pipelines.targets import Targets
from pipelines.waves import Plan

stderr = Console(stderr=True)
rollout_app = typer.Typer(help="Start and steer a rollout on AWS Step Functions.", no_args_is_help=True)

RegionOption = Annotated[
    str, typer.Option("--region", envvar="AWS_REGION", help="Region of the control plane.", callback=options.region)
]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")]
# Step Functions standard workflows run for at most a year; no setting may wait longer.
MAX_SETTING_SECONDS = 365 * 24 * 3600


class PlanFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MERMAID = "mermaid"


def _start(value: str | None) -> str | None:
    """Option callback: an ISO 8601 instant (UTC when no offset is given)."""
    if value is not None:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{value[:40]!r} is not an instant like 2026-12-05T14:00") from None
    return value


def plan(
    root: RootOption = REPO_ROOT,
    output_format: Annotated[PlanFormat, typer.Option("--format", help="table, json or mermaid.")] = PlanFormat.TABLE,
    out: OutOption = None,
    start: Annotated[str | None, typer.Option(
        "--start", callback=_start, help="When the rollout starts, for the calendar with the maintenance windows "
                                         "applied (ISO 8601, UTC; default: now).")] = None,
) -> None:
    """Print the rollout plan (waves, cells, schedule estimate, calendar with windows) as a table, JSON or Mermaid."""
    fleet = load_fleet(root)
    the_plan = load_plan(root, fleet)[1]
    windows = {c.id: c.maintenance_window for c in fleet.cells if c.maintenance_window is not None}
    begins = datetime.fromisoformat(start) if start is not None else datetime.now(UTC)
    begins = (begins if begins.tzinfo else begins.replace(tzinfo=UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    renderers: dict[PlanFormat, Callable[[], str]] = {
        PlanFormat.TABLE: lambda: plan_table(the_plan, windows=windows, start=begins),
        PlanFormat.JSON: lambda: plan_json(the_plan, windows=windows, start=begins),
        PlanFormat.MERMAID: lambda: plan_mermaid(the_plan, windows=windows)}
    emit(renderers[output_format](), out)
    stderr.print(f"{len(the_plan.waves)} waves, {len(the_plan.cell_order)} cells" + (f" -> {out}" if out else ""))


def pipeline(
    root: RootOption = REPO_ROOT,
    out: Annotated[Path | None, typer.Option("--out", file_okay=False, help="Directory for the files.")] = None,
    region: Annotated[
        str, typer.Option("--region", help="Region of the control plane (in every ARN).", callback=options.region)
    ] = "us-east-1",
    account: Annotated[
        str,
        typer.Option("--account", help="AWS account of the control plane, 12 digits (in every ARN).", callback=options.account),
    ] = "123456789012",
) -> None:
    """The state machines (ASL), their IAM policy and the plan; one JSON on stdout or files in --out."""
    files = pipeline_files(_plan(root), Targets(region=region, account=account))
    if out is None:
        combined = {Path(k).name: json.loads(v) for k, v in files.items() if k.endswith(".json")}
        emit(json.dumps(combined, sort_keys=True, indent=2) + "\n", None)
    else:
        for relative, text in files.items():
            target = out / Path(relative).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    stderr.print(", ".join(f"{Path(k).name} {len(v):,} B" for k, v in sorted(files.items())) + (f" -> {out}" if out else ""))


@contextmanager
def aws_errors() -> Iterator[None]:
    """AWS failures (bad token, no credentials, missing machine) as one line and exit 1, not a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        stderr.print(f"error: {exc}")
        raise typer.Exit(1) from None


def _release(value: str) -> str:
    """Option callback: a release the cells can deploy (their `release` is a semantic version)."""
    if not SEMVER.match(value):
        raise typer.BadParameter(f"{value[:40]!r} is not a release like 2.5.0 (semantic version, as cells declare)")
    return value


def _overrides(values: list[str] | None) -> list[str] | None:
    """Option callback: every --set is KEY=SECONDS with a known key and a bounded value."""
    for value in values or []:
        key, sep, number = value.partition("=")
        if not sep or not number.strip().isdigit():
            raise typer.BadParameter(f"{value[:40]!r}: expected KEY=SECONDS, e.g. bake_seconds=60")
        if key.strip() not in OVERRIDABLE:
            raise typer.BadParameter(f"unknown setting {key.strip()[:40]!r} (one of {', '.join(OVERRIDABLE)})")
        if not 0 <= int(number) <= MAX_SETTING_SECONDS:
            raise typer.BadParameter(f"{key.strip()}: at most {MAX_SETTING_SECONDS} seconds (a year)")
    return values


def _name(value: str | None) -> str | None:
    problem = rollouts.check_name(value) if value is not None else None
    if problem:
        raise typer.BadParameter(problem)
    return value


@rollout_app.command("start")
def start(
    version: Annotated[str, typer.Option("--version", help="Release to roll out, e.g. 2.5.0.", callback=_release)],
    root: RootOption = REPO_ROOT,
    region: RegionOption = "us-east-1",
    state_machine_arn: Annotated[
        str | None, typer.Option("--state-machine-arn", help="Rollout machine (default: from the caller's account).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Execution name (default: version + time).", callback=_name)
    ] = None,
    settings: Annotated[
        list[str] | None, typer.Option("--set", help="Override KEY=SECONDS, e.g. bake_seconds=0.", callback=_overrides)
    ] = None,
    ignore_windows: Annotated[bool, typer.Option(
        "--ignore-maintenance-windows",
        help="Emergency fix: deploy enterprise cells without waiting for their windows (approvals still apply).")] = False,
) -> None:
    """Start a rollout of VERSION over the fleet's plan; prints the execution ARN.

    Enterprise cells with a `maintenance_window` deploy only inside its next openings (from now).
    """
    fleet = load_fleet(root)
    the_plan = load_plan(root, fleet)[1]
    windows = {} if ignore_windows else rollouts.window_openings(fleet, the_plan, datetime.now(UTC))
    overrides = {key.strip(): int(number) for key, _, number in (s.partition("=") for s in settings or [])}
    if state_machine_arn is not None:
        try:
            rollouts.parse_machine_arn(state_machine_arn)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--state-machine-arn") from None
    try:
        document = rollouts.plan_document(the_plan, version, overrides, windows)
    except QuotaExceeded as exc:  # refused before any AWS call
        for problem in exc.problems:
            stderr.print(f"error: {problem}", soft_wrap=True, highlight=False, markup=False)
        raise typer.Exit(1) from None
    with aws_errors():
        if state_machine_arn is None:
            import boto3

            account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
            state_machine_arn = Targets(region=region, account=account).machine_arn("rollout")
        arn = rollouts.start(document, state_machine_arn, region=region, name=name)
    emit(arn + "\n", None)
    stderr.print(f"started rollout of {version}: {len(the_plan.waves)} waves, {len(the_plan.cell_order)} cells")


def progress_view(progress: rollouts.Progress) -> Group:
    header = Table.grid()
    header.add_row(f"[bold]{progress.name}[/] {progress.version}: {progress.status}")
    if progress.error:
        header.add_row(f"[red]{progress.error}: {progress.cause}[/]")
    table = Table("wave", "status", "cells")
    colours: dict[str, str] = {RolloutStatus.DEPLOYED: "green", RolloutStatus.BAKING: "yellow", RolloutStatus.DEPLOYING: "cyan",
               RolloutStatus.ROLLED_BACK: "red", RolloutStatus.ROLLING_BACK: "red",
               RolloutStatus.ROLLBACK_FAILED: "bold red", RolloutStatus.PENDING: "dim"}
    for wave in progress.waves:
        cells = " ".join(f"[{colours.get(s, 'white')}]{c}:{s}[/]" for c, s in wave.cells.items())
        table.add_row(wave.name, wave.status, cells)
    # The bake analysis, one line per wave, cell and check: value vs threshold.
    analysis = [escape(f"{wave.name} {r.cell} {r.check}: {r.value} ({r.threshold}) ")
                + ("[green]pass[/]" if r.passed else "[bold red]FAIL[/]") for wave in progress.waves for r in wave.checks]
    return Group(header, table, *analysis)


@rollout_app.command("watch")
def watch(
    execution: Annotated[str, typer.Argument(help="Execution ARN of the rollout.")],
    rollout_table: Annotated[str, typer.Option("--rollout-table", help="Rollout-state table of the control plane.")]
    = DEFAULT_ROLLOUT_TABLE,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes.", min=0.1, max=3600)] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Show the progress once and exit.")] = False,
) -> None:
    """Live progress per wave and cell, from the executions and the rollout-state table (on stderr)."""
    try:
        rollouts.parse_execution_arn(execution)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="EXECUTION") from None
    with aws_errors():
        current = rollouts.progress(execution, rollout_table)
        if once:
            stderr.print(progress_view(current))
        else:
            with Live(progress_view(current), console=stderr, refresh_per_second=4) as live:
                while not current.done:
                    time.sleep(interval)
                    current = rollouts.progress(execution, rollout_table)
                    live.update(progress_view(current))
    if current.status in {"FAILED", "TIMED_OUT", "ABORTED"}:
        raise typer.Exit(3)


@rollout_app.command("approve")
def approve(token: Annotated[str, typer.Argument(help="task_token from the approval message.")],
            region: RegionOption = "us-east-1") -> None:
    """Approve a pending approval (SendTaskSuccess); records who (the AWS caller identity) and when."""
    with aws_errors():
        approval = rollouts.approve(token, region=region)
    stderr.print(f"approved by {approval['approved_by']} at {approval['approved_at']}")


@rollout_app.command("reject")
def reject(token: Annotated[str, typer.Argument(help="task_token from the approval message.")],
           reason: Annotated[str, typer.Option("--reason", help="Why; ends up in the rollout's error.")],
           region: RegionOption = "us-east-1") -> None:
    """Reject a pending approval (SendTaskFailure): the wave rolls back and the rollout fails."""
    with aws_errors():
        rollouts.reject(token, reason, region=region)
    stderr.print("rejected")


def _plan(root: Path) -> Plan:
    """The fleet's wave plan: the one policy loader, so `plan`, `pipeline` and `rollout` agree."""
    return load_plan(root, load_fleet(root))[1]
