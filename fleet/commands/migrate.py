"""`python -m fleet runbook` and `python -m fleet migrate ...` (registered by fleet/cli.py)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from fleet.inputs import load_fleet, load_inputs, load_migration, load_plan
from fleet.options import REPO_ROOT, RootOption, emit
from fleet.stores import DynamoStore, JsonStore, StaleStateError, StateStore
from migrations.planner import MigrationPlan
from migrations.progress import render_text, status_view
from migrations.state import MigrationState
from migrations.transitions import TransitionError, advance, approve, fail, rollback
from model.contract import DEFAULT_MIGRATIONS_TABLE
from model.errors import InputError, InputErrors

migrate_app = typer.Typer(help="Expand-contract migrations: state, progress and transitions.", no_args_is_help=True)


class StoreKind(StrEnum):
    JSON = "json"
    DYNAMODB = "dynamodb"


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


IdArg = Annotated[str, typer.Argument(help="Migration id (folder under migrations/).")]
CellOpt = Annotated[str, typer.Option("--cell", help="Cell id.")]
PhaseOpt = Annotated[str | None, typer.Option("--phase", help="Phase name (default: the cell's current phase).")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Timestamp to record (ISO 8601; default: now).")]
StoreOpt = Annotated[StoreKind, typer.Option("--store", help="Where state lives.")]
TableOpt = Annotated[str, typer.Option("--table", help="DynamoDB table (with --store dynamodb).")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="AWS region (with --store dynamodb).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write the document here instead of stdout.")]


class AdvanceTo(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"


def _refuse(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def _timestamp(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or time", param_hint="--at") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: str | None) -> str:
    return _timestamp(value).isoformat().replace("+00:00", "Z")


def _plan(root: Path, migration_id: str) -> MigrationPlan:
    fleet = load_fleet(root)
    return load_migration(root, migration_id, fleet, load_plan(root, fleet)[1])


def _store(kind: StoreKind, root: Path, table: str, region: str | None) -> StateStore:
    if kind is StoreKind.DYNAMODB:
        return DynamoStore(table, region=region)
    return JsonStore(root)


def runbook(
    migration_id: IdArg,
    cell: Annotated[str | None, typer.Option("--cell", help="Only this cell's steps.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Start of the schedule (default: the manifest's).")] = None,
    out: OutOpt = None,
    root: RootOption = REPO_ROOT,
) -> None:
    """Render a migration's runbook (Markdown) for the fleet or one cell."""
    from migrations.runbook import render_runbook

    plan = _plan(root, migration_id)
    if cell is not None and cell not in plan.cells:
        raise InputErrors([InputError(plan.source, 1, "--cell", f"cell {cell!r} is not part of {migration_id}")])
    emit(render_runbook(plan, cell=cell, start=_timestamp(at) if at else None), out)


def _change(root: Path, migration_id: str, store: StoreKind, table: str, region: str | None,
            apply: Callable[[MigrationPlan, MigrationState], MigrationState]) -> MigrationState:
    plan = _plan(root, migration_id)
    backend = _store(store, root, table, region)
    state = backend.load(migration_id)
    try:
        saved = backend.save(apply(plan, state))
    except (TransitionError, StaleStateError) as exc:
        _refuse(str(exc))
    print(render_text(status_view(plan, saved)), end="", file=sys.stderr)
    return saved


@migrate_app.command("status")
def status(migration_id: IdArg, fmt: Annotated[Format, typer.Option("--format", help="Text (the seed's view) or JSON.")]
           = Format.TEXT,
           store: StoreOpt = StoreKind.JSON, table: TableOpt = DEFAULT_MIGRATIONS_TABLE,
           region: RegionOpt = None, out: OutOpt = None, root: RootOption = REPO_ROOT) -> None:
    """Progress of a migration: the bar, what runs now, what is next (`--format json`: the document)."""
    plan = _plan(root, migration_id)
    view = status_view(plan, _store(store, root, table, region).load(migration_id))
    if fmt is Format.JSON:
        emit(json.dumps(view, sort_keys=True, indent=2) + "\n", out)
    else:
        print(render_text(view), end="", file=sys.stderr)


def _progress_lines(source: typer.FileText) -> Iterator[tuple[int, int]]:
    """(rows_done, rows_total) of each backfill progress line as it arrives; a line that is not one is refused."""
    for n, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            done, total = int(data["rows_done"]), int(data["rows_total"])
        except (ValueError, KeyError, TypeError):
            raise InputErrors([InputError("--progress", n, "progress",
                                          "expected a backfill line {\"rows_done\": N, \"rows_total\": T}")]) from None
        yield done, total


@migrate_app.command("advance")
def advance_cmd(migration_id: IdArg, cell: CellOpt, phase: PhaseOpt = None,
                to: Annotated[AdvanceTo | None, typer.Option("--status", help="running or complete.")] = None,
                rows: Annotated[int | None, typer.Option("--rows", help="Rows done so far.", min=0)] = None,
                total: Annotated[int | None, typer.Option("--total", help="Rows in total.", min=0)] = None,
                progress: Annotated[typer.FileText | None, typer.Option(
                    "--progress", help="Record each progress line of `migrate backfill` read from this file ('-': stdin).",
                )] = None,
                at: AtOpt = None, store: StoreOpt = StoreKind.JSON, table: TableOpt = DEFAULT_MIGRATIONS_TABLE,
                region: RegionOpt = None, root: RootOption = REPO_ROOT) -> None:
    """Start a cell's phase, record its progress, or mark it complete."""
    if progress is not None:
        for done, of in _progress_lines(progress):
            def record(plan: MigrationPlan, state: MigrationState, d: int = done, t: int = of) -> MigrationState:
                return advance(plan, state, cell, phase=phase, status="running", rows_done=d, rows_total=t,
                               at=_iso(at))

            _change(root, migration_id, store, table, region, record)
        return
    _change(root, migration_id, store, table, region,
            lambda plan, state: advance(plan, state, cell, phase=phase, status=to.value if to else None, rows_done=rows,
                                        rows_total=total, at=_iso(at)))


DsnOpt = Annotated[str, typer.Option("--dsn", help="libpq connection string (PostgreSQL) or option file (MySQL).")]


@migrate_app.command("backfill")
def backfill_cmd(migration_id: IdArg, cell: CellOpt, dsn: DsnOpt,
                 target: Annotated[float, typer.Option("--target-seconds", min=0.01, max=2.0,
                                                       help="Target batch time (never above 2 s).")] = 0.5,
                 root: RootOption = REPO_ROOT) -> None:
    """Run the manifest's declared backfill on one cell; one JSON progress line per batch on stdout."""
    from fleet.backfill import Options, connect, run
    from migrations.backfill import Target

    plan = _plan(root, migration_id)
    if cell not in plan.cells:
        _refuse(f"cell {cell!r} is not part of migration {migration_id}")
    engine = plan.engines[cell]
    conn = connect(engine, dsn, plan.migration.database)
    try:
        run(conn, engine, Target.of(plan.migration.change), Options(migration_id, target_seconds=target))
    finally:
        conn.close()


@migrate_app.command("check")
def check_cmd(migration_id: IdArg, cell: CellOpt, dsn: DsnOpt,
              phase: Annotated[str, typer.Option("--phase", help="Run the SQL checks due before this phase.")],
              root: RootOption = REPO_ROOT) -> None:
    """Run a phase's SQL checks on one cell's database; exit 1 when any fails (contract: no NULLs, new = old)."""
    from fleet.backfill import check_failures, connect
    from migrations.commands import checks

    plan = _plan(root, migration_id)
    if cell not in plan.cells:
        _refuse(f"cell {cell!r} is not part of migration {migration_id}")
    try:
        before = checks(plan, plan.phase(phase))[0]
    except (KeyError, ValueError):
        _refuse(f"unknown phase {phase!r}")
    engine = plan.engines[cell]
    sql_checks = [(c.description, c.sql[engine], c.expect) for c in before if c.sql]
    conn = connect(engine, dsn, plan.migration.database)
    try:
        failed = check_failures(conn, sql_checks)
    finally:
        conn.close()
    if failed:
        _refuse(f"{phase} cannot start on {cell}: " + "; ".join(failed))
    print(f"ok: {len(sql_checks)} check(s) before {phase} pass on {cell}", file=sys.stderr)


@migrate_app.command("fail")
def fail_cmd(migration_id: IdArg, cell: CellOpt, phase: PhaseOpt = None,
             reason: Annotated[str, typer.Option("--reason", help="Why the phase failed (recorded).")] = "failed",
             at: AtOpt = None,
             store: StoreOpt = StoreKind.JSON, table: TableOpt = DEFAULT_MIGRATIONS_TABLE,
             region: RegionOpt = None, root: RootOption = REPO_ROOT) -> None:
    """Mark a cell's running phase failed; the others are left as they are."""
    _change(root, migration_id, store, table, region,
            lambda plan, state: fail(plan, state, cell, phase, _iso(at), reason))


@migrate_app.command("rollback")
def rollback_cmd(migration_id: IdArg, cell: CellOpt, phase: PhaseOpt = None,
                 store: StoreOpt = StoreKind.JSON, table: TableOpt = DEFAULT_MIGRATIONS_TABLE,
                 region: RegionOpt = None, root: RootOption = REPO_ROOT) -> None:
    """Record that a cell's latest phase was undone (only before contract)."""
    _change(root, migration_id, store, table, region, lambda plan, state: rollback(plan, state, cell, phase))


@migrate_app.command("approve")
def approve_cmd(migration_id: IdArg, phase: Annotated[str, typer.Option("--phase", help="The gated phase to approve.")],
                cells: Annotated[list[str], typer.Option("--cell", help="Cell id; repeat for several.")],
                store: StoreOpt = StoreKind.JSON, table: TableOpt = DEFAULT_MIGRATIONS_TABLE,
                region: RegionOpt = None, root: RootOption = REPO_ROOT) -> None:
    """Record a human approval of a phase for some cells."""
    _change(root, migration_id, store, table, region, lambda plan, state: approve(plan, state, phase, cells))


@migrate_app.command("lint")
def lint_cmd(migration_ids: Annotated[list[str] | None, typer.Argument(help="Default: every migration.")] = None,
             root: RootOption = REPO_ROOT) -> None:
    """Validate manifests and lint their SQL; one `path:line: rule: message` line per problem."""
    plans = [_plan(root, i) for i in migration_ids] if migration_ids else list(load_inputs(root).migrations)
    print(f"ok: {len(plans)} migration(s), scripts pass the SQL lint", file=sys.stderr)


@migrate_app.command("orchestrator")
def orchestrator_cmd(migration_id: IdArg, out: OutOpt = None, root: RootOption = REPO_ROOT,
                     execution: Annotated[bool, typer.Option(
                         "--input", help="Print the plan document (the cells `migrate start` writes to S3, per step) "
                                         "instead of the definition.",
                     )] = False) -> None:
    """The Step Functions definition (ASL JSON) that runs the migration, or its plan document."""
    from migrations.orchestrator import definition, plan_document

    plan = _plan(root, migration_id)
    document = plan_document(plan) if execution else definition(plan)
    emit(json.dumps(document, sort_keys=True, indent=2) + "\n", out)


def _machine(value: str | None) -> str | None:
    from fleet.rollouts import parse_machine_arn

    if value is not None:
        try:
            parse_machine_arn(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


@migrate_app.command("start")
def start_cmd(migration_id: IdArg,
              region: Annotated[str, typer.Option("--region", help="AWS region of the control plane.")] = "us-east-1",
              state_machine_arn: Annotated[str | None, typer.Option(
                  "--state-machine-arn", callback=_machine,
                  help="The migration's orchestrator (default: its name in the caller's account).")] = None,
              name: Annotated[str | None, typer.Option("--name", help="Execution name (default: run + time).")] = None,
              root: RootOption = REPO_ROOT) -> None:
    """Write the migration's cells to the plan bucket (one object per step) and start its orchestrator.

    A plan that would exceed a Step Functions quota is refused before any AWS call.
    """
    from fleet.rollouts import parse_machine_arn
    from migrations import quotas
    from migrations.orchestrator import definition, machine_arn, plan_document

    plan = _plan(root, migration_id)
    document = plan_document(plan)
    over = quotas.problems(quotas.measure(plan, document, definition(plan)))
    if over:
        raise InputErrors([InputError(plan.source, 1, "migration", problem) for problem in over])
    if name is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name):
        raise typer.BadParameter("1 to 80 letters, digits, '-' or '_'", param_hint="--name")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from fleet.migration_runs import start
    from pipelines.targets import Targets

    try:
        if state_machine_arn is None:
            account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
            state_machine_arn = machine_arn(Targets(region=region, account=account), migration_id)
        machine_region, account, _ = parse_machine_arn(state_machine_arn)
        bucket = Targets(region=machine_region, account=account).plan_bucket
        arn = start(boto3.client("s3", region_name=region), boto3.client("stepfunctions", region_name=region), bucket,
                    document, state_machine_arn, name or datetime.now(UTC).strftime("run-%Y%m%dT%H%M%SZ"))
    except (BotoCoreError, ClientError) as exc:
        _refuse(str(exc).splitlines()[0])
    emit(arn + "\n", None)
    print(f"started {migration_id}: {len(plan.phases)} phases, {len(plan.cells)} cells", file=sys.stderr)
