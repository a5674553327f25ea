"""What an operator runs: per-cell commands per engine, checks before and after each phase, rollbacks.

Connection conventions (documented in the runbook): PostgreSQL cells are reached through a
libpq service named after the cell (`~/.pg_service.conf`), MySQL cells through an option file
`/etc/cellfleet/mysql/<cell-id>.cnf`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from migrations.lint import split_mysql
from migrations.planner import MigrationPlan, PhasePlan
from model.cells import Engine
from model.contract import alarm_prefix
from model.manifest import PhaseName, PhaseType

MYSQL_OPTION_FILE = "/etc/cellfleet/mysql/{cell}.cnf"
_ALTER = re.compile(r"^\s*ALTER\s+TABLE\s+(\S+)\s+(.*)$", re.IGNORECASE | re.DOTALL)


def pg_dsn(cell: str) -> str:
    return f"service={cell}"


def mysql_option_file(cell: str) -> str:
    return MYSQL_OPTION_FILE.format(cell=cell)


def quote(text: str) -> str:
    """Shell-quote, preferring double quotes for SQL (which has single-quoted literals)."""
    if re.search(r'[$`"\\!]', text) is None:
        return f'"{text}"'
    return shlex.quote(text)


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def psql(cell: str, *args: str) -> str:
    return " ".join(["psql", shlex.quote(pg_dsn(cell)), "-v", "ON_ERROR_STOP=1", *args])


def mysql(plan: MigrationPlan, cell: str, *args: str) -> str:
    return " ".join(["mysql", shlex.quote(f"--defaults-extra-file={mysql_option_file(cell)}"), *args,
                     shlex.quote(plan.migration.database)])


def release(version: str) -> str:
    return version.removeprefix("v")


def fleet(*args: str) -> str:
    """A `python -m fleet` line, every argument quoted."""
    return " ".join(["python", "-m", "fleet", *(shlex.quote(a) for a in args)])


def record(plan: MigrationPlan, phase: PhasePlan, cell: str, status: str) -> str:
    return fleet("migrate", "advance", plan.id, "--cell", cell, "--phase", phase.name.value, "--status", status)


def backfill_command(plan: MigrationPlan, phase: PhasePlan, cell: str) -> str:
    """The declared backfill (the tool's engine), its progress lines recorded as they come."""
    engine = plan.engines[cell]
    dsn = pg_dsn(cell) if engine is Engine.AURORA_POSTGRESQL else mysql_option_file(cell)
    script = phase.scripts.get(engine)
    if script is not None:
        run = " ".join(["python", shlex.quote(script), "--engine", engine.value, "--dsn", shlex.quote(dsn),
                        "--batch-size", str(phase.checkpoint_interval)])
    else:
        run = fleet("migrate", "backfill", plan.id, "--cell", cell, "--dsn", dsn)
    record_progress = fleet("migrate", "advance", plan.id, "--cell", cell, "--phase", phase.name.value, "--progress", "-")
    return f"(set -o pipefail; {run} | {record_progress})"


def _guard(plan: MigrationPlan, phase: PhasePlan) -> tuple[str, str] | None:
    """The columns query and the count at which a MySQL ALTER of this phase still has to run."""
    if phase.name is PhaseName.EXPAND:
        return _columns_sql(plan, "new")[Engine.AURORA_MYSQL], "0"
    if phase.name is PhaseName.CONTRACT:
        return _columns_sql(plan, "old")[Engine.AURORA_MYSQL], str(len(plan.migration.change.columns))
    return None


def _pt_osc(plan: MigrationPlan, phase: PhasePlan, cell: str, table: str, alter: str) -> str:
    """pt-online-schema-change, `--dry-run` then `--execute`; skipped when the change is already there."""
    t = plan.migration.timeouts
    dsn = f"F={mysql_option_file(cell)},D={plan.migration.database},t={table}"
    common = ["pt-online-schema-change", "--alter", quote(" ".join(alter.split())),
              "--set-vars", f"lock_wait_timeout={_seconds(t.lock)}",
              "--max-load", "Threads_running=50", "--critical-load", "Threads_running=200"]
    run = " && ".join(" ".join([*common, mode, shlex.quote(dsn)]) for mode in ("--dry-run", "--execute"))
    guard = _guard(plan, phase)
    if guard is None:
        return run
    query, pending = guard
    return f'if [ "$({mysql(plan, cell, "-N", "-e", quote(query))})" = {pending} ]; then {run}; fi'


def _schema_commands(plan: MigrationPlan, phase: PhasePlan, cell: str, engine: Engine, script_text: str) -> list[str]:
    script = phase.scripts[engine]
    t = plan.migration.timeouts
    if engine is Engine.AURORA_POSTGRESQL:
        options = f"-c lock_timeout={_seconds(t.lock)}s -c statement_timeout={_seconds(t.statement)}s"
        return [f"PGOPTIONS={shlex.quote(options)} {psql(cell, '-f', shlex.quote(script))}"]
    out = []
    for sql, _node in split_mysql(script_text):
        if re.match(r"^\s*SET\s", sql, re.IGNORECASE):
            continue
        match = _ALTER.match(sql)
        if match is None:
            stmt = f"SET SESSION lock_wait_timeout = {_seconds(t.lock)}; {sql}"
            out.append(mysql(plan, cell, "-e", quote(stmt)))
            continue
        out.append(_pt_osc(plan, phase, cell, match.group(1).strip("`"), match.group(2)))
    return out


def cell_commands(plan: MigrationPlan, phase: PhasePlan, cell: str, script_texts: Mapping[str, str]) -> list[str]:
    """The exact commands that run `phase` on `cell`, between recording it running and complete."""
    engine = plan.engines[cell]
    body: list[str]
    if phase.type is PhaseType.DEPLOYMENT and plan.platform:
        assert phase.version is not None
        # no cell deployer serves the platform: the orchestrator's `platform-deploy` message asks a person
        body = [f"# deploy {phase.version} of the platform services that use the `{plan.migration.database}` "
                "database (the Aurora Global Database primary)",
                "# blast radius: the whole platform (every cell uses it); then answer the orchestrator's",
                "# `platform-deploy` message on the approvals topic with its task token:",
                fleet("rollout", "approve", "<task_token>")]
    elif phase.type is PhaseType.DEPLOYMENT:
        assert phase.version is not None
        body = [f"# set every service's release to {release(phase.version)} in cells/{cell}.yaml, then:",
                f"pulumi up --stack {shlex.quote(cell)} --yes"]
    elif phase.type is PhaseType.DATA:
        body = [backfill_command(plan, phase, cell)]
    else:
        body = _schema_commands(plan, phase, cell, engine, script_texts.get(phase.scripts[engine], ""))
    gate: list[str] = []
    if phase.name is PhaseName.CONTRACT:  # the point of no return: the data checks refuse to let it start
        dsn = pg_dsn(cell) if engine is Engine.AURORA_POSTGRESQL else mysql_option_file(cell)
        gate = [fleet("migrate", "check", plan.id, "--cell", cell, "--phase", phase.name.value, "--dsn", dsn)]
    return [*gate, record(plan, phase, cell, "running"), *body, record(plan, phase, cell, "complete")]


@dataclass(frozen=True)
class Check:
    """A query (or alarm lookup) and the output it must print."""

    description: str
    expect: str
    sql: dict[Engine, str] | None = None  # None: the cell's CloudWatch alarms

    def command(self, plan: MigrationPlan, cell: str, engine: Engine) -> str:
        if self.sql is None:
            return (f"aws cloudwatch describe-alarms --alarm-name-prefix {alarm_prefix(cell)} "
                    "--state-value ALARM --query 'length(MetricAlarms)'")
        if engine is Engine.AURORA_POSTGRESQL:
            return psql(cell, "-Atc", quote(self.sql[engine]))
        return mysql(plan, cell, "-N", "-e", quote(self.sql[engine]))


def _columns_sql(plan: MigrationPlan, which: str) -> dict[Engine, str]:
    change = plan.migration.change
    names = list(change.columns) if which == "old" else list(change.columns.values())
    listed = ", ".join(f"'{n}'" for n in names)
    return {
        Engine.AURORA_POSTGRESQL: "SELECT count(*) FROM information_schema.columns WHERE table_schema = "  # noqa: S608 - identifiers match the manifest pattern
        f"current_schema() AND table_name = '{change.table}' AND column_name IN ({listed})",
        Engine.AURORA_MYSQL: "SELECT count(*) FROM information_schema.columns WHERE table_schema = "  # noqa: S608 - identifiers match the manifest pattern
        f"DATABASE() AND table_name = '{change.table}' AND column_name IN ({listed})",
    }


def _rows_sql(plan: MigrationPlan, what: str) -> dict[Engine, str]:
    change = plan.migration.change
    pairs = list(change.columns.items())
    if what == "nulls":
        cond = " OR ".join(f"{new} IS NULL" for _old, new in pairs)
        return dict.fromkeys(Engine, f"SELECT count(*) FROM {change.table} WHERE {cond}")  # noqa: S608 - identifiers match the manifest pattern
    pg = " OR ".join(f"{new} IS DISTINCT FROM {old}" for old, new in pairs)
    my = " OR ".join(f"NOT ({new} <=> {old})" for old, new in pairs)
    return {
        Engine.AURORA_POSTGRESQL: f"SELECT count(*) FROM {change.table} WHERE {pg}",  # noqa: S608 - identifiers match the manifest pattern
        Engine.AURORA_MYSQL: f"SELECT count(*) FROM {change.table} WHERE {my}",  # noqa: S608 - identifiers match the manifest pattern
    }


def checks(plan: MigrationPlan, phase: PhasePlan) -> tuple[list[Check], list[Check]]:
    """(before, after) checks of a phase, run on each cell."""
    change = plan.migration.change
    new = ", ".join(f"{change.table}.{c}" for c in change.columns.values())
    old = ", ".join(f"{change.table}.{c}" for c in change.columns)
    n = str(len(change.columns))
    added = Check(f"{new} exists", n, _columns_sql(plan, "new"))
    absent = Check(f"{new} does not exist yet", "0", _columns_sql(plan, "new"))
    healthy = Check(f"no alarm `{alarm_prefix('<cell>')}*` is in ALARM", "0")
    nulls = Check(f"no NULL in {new}", "0", _rows_sql(plan, "nulls"))
    equal = Check(f"{new} equals {old} on every row", "0", _rows_sql(plan, "differs"))
    gone = Check(f"{old} is gone", "0", _columns_sql(plan, "old"))
    table: dict[PhaseName, tuple[list[Check], list[Check]]] = {
        PhaseName.EXPAND: ([absent, healthy], [added, healthy]),
        PhaseName.MIGRATE_CODE: ([added, healthy], [healthy]),
        PhaseName.BACKFILL: ([added, healthy], [equal]),
        PhaseName.MIGRATE_CODE_READONLY: ([equal, healthy], [healthy]),
        PhaseName.CONTRACT: ([nulls, equal, healthy], [gone, healthy]),
    }
    return table[phase.name]


@dataclass(frozen=True)
class Rollback:
    phase: PhaseName
    strategy: str
    commands: dict[Engine, str]
    possible: bool


def rollbacks(plan: MigrationPlan) -> list[Rollback]:
    """How each phase is undone, the seed's table; contract is the point of no return."""
    change = plan.migration.change
    drops = ", ".join(f"DROP COLUMN {c}" for c in change.columns.values())
    out = []
    for phase in plan.phases:
        commands: dict[Engine, str] = {}
        if phase.name is PhaseName.EXPAND:
            strategy = "Drop the new column(s): no data loss, old code never read them."
            commands = {
                Engine.AURORA_POSTGRESQL: f"ALTER TABLE {change.table} {drops};",
                Engine.AURORA_MYSQL: f"pt-online-schema-change --alter '{drops}' ... (as the expand)",
            }
        elif phase.type is PhaseType.DEPLOYMENT:
            back = phase.previous_version or "the release before " + (phase.version or "")
            note = "it still writes both columns" if phase.previous_version else "it still reads the old column"
            strategy = f"Redeploy {back} ({note})."
        elif phase.type is PhaseType.DATA:
            strategy = "Stop the backfill, no harm done; a rerun resumes from its checkpoint."
        else:
            strategy = "**Point of no return**: the old column is gone; only a snapshot restore brings it back."
        out.append(Rollback(phase.name, strategy, commands, phase.name is not PhaseName.CONTRACT))
    return out
