"""The sample migration end to end on real PostgreSQL and real MariaDB, through the runbook's own lines.

Each cell's lines are the ones the runbook prints (`cell_commands`, checked against the rendered
runbook); they run in bash with the cell's connection pointed at the session's server: a libpq
service file for PostgreSQL, the option file path replaced for MySQL. MySQL DDL runs through
`pt-online-schema-change --dry-run` then `--execute`, as printed.

Where MariaDB 10.11 differs from Aurora MySQL 8 in something these scripts rely on:
* `pt-online-schema-change` copies through triggers on both; Aurora MySQL 8 would also allow
  `ALGORITHM=INSTANT` for `ADD COLUMN`, which the runbook does not use, so both take the same path.
* `lock_wait_timeout` and `innodb_lock_wait_timeout` exist with the same meaning on both.
* `information_schema.columns` and `<=>` behave the same; MariaDB lacks MySQL 8's
  `performance_schema.replication_applier_status` lag columns, so replica-lag back-off is not
  exercised here (no replicas); `Threads_running` is the same status variable on both.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli import app
from migrations.commands import cell_commands
from migrations.runbook import render_runbook
from migrations.state import MigrationState
from model.cells import Engine
from tests.migrations.support import CELLS, fresh_messages, run_line, scalar, shell_env, two_cell_root
from tests.support.fleets import migration_plan
from tests.support.servers import MariaDBServer, PostgresServer

pytestmark = pytest.mark.slow
SAMPLE = "2025-01-15-recipient-id-column"


def _record(line: str, root: Path) -> None:
    """A `python -m fleet migrate advance` line, run in-process (the same argv; saves a CLI start per line)."""
    argv = shlex.split(line)
    assert argv[:3] == ["python", "-m", "fleet"]
    result = CliRunner().invoke(app, [*argv[3:], "--root", str(root)])
    assert result.exit_code == 0, f"{line}\n{result.output}"


def test_sample_migration_end_to_end_through_the_runbook(tmp_path: Path, postgres: PostgresServer,
                                                         mariadb: MariaDBServer) -> None:
    root = two_cell_root(tmp_path)
    plan = migration_plan(root, SAMPLE)
    runbooks = {cell: render_runbook(plan, cell=cell) for cell in CELLS.values()}
    env = shell_env(root, postgres)
    for engine in Engine:
        fresh_messages(engine, postgres, mariadb, 3_000)

    def q(engine: Engine, sql: str) -> int:
        return scalar(engine, postgres, mariadb, sql)

    def run(phase: str, times: int = 1) -> dict[Engine, list[str]]:
        outputs: dict[Engine, list[str]] = {}
        for engine, cell in CELLS.items():  # canary (PostgreSQL) first, then smb-us-3 (MySQL), as the steps go
            lines = cell_commands(plan, plan.phase(phase), cell, plan.texts)
            for line in lines:
                assert line in runbooks[cell], line
            outputs[engine] = []
            for n in range(times):
                for line in lines:
                    if line.startswith("#") or line.startswith("pulumi "):
                        continue  # deployments: a real `pulumi up` of the cell, not this test's business
                    recording = " migrate advance " in line and " --progress " not in line
                    if recording and n:
                        continue  # the re-run repeats the work, not the state records
                    if recording:
                        # contract: the cell's own read-only code has baked by then (per-cell fencing)
                        _record(line + (" --at 2099-01-01T00:00:00Z" if phase == "contract" else ""), root)
                        continue
                    done = run_line(line, env, mariadb)
                    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
                    outputs[engine].append(done.stdout + done.stderr)
        return outputs

    column = ("SELECT count(*) FROM information_schema.columns WHERE table_name = 'messages' "
              "AND column_name = '{}' AND table_schema = {}").format
    schema = {Engine.AURORA_POSTGRESQL: "current_schema()", Engine.AURORA_MYSQL: "DATABASE()"}
    for engine in Engine:
        assert q(engine, column("recipient_id", schema[engine])) == 0
    out = run("expand", times=2)  # twice: the second run changes nothing and fails nothing (idempotent)
    for engine in Engine:
        assert q(engine, column("recipient_id", schema[engine])) == 1
    mysql_out = "\n".join(out[Engine.AURORA_MYSQL])
    assert mysql_out.count("Successfully altered") == 1  # the re-run skipped pt-osc: the column is there
    assert "Dry run complete" in mysql_out or "dry run" in mysql_out.lower()
    assert q(Engine.AURORA_MYSQL, "SELECT count(*) FROM information_schema.statistics WHERE table_schema = "
                                  "DATABASE() AND index_name = 'messages_recipient_id_idx'") == 1
    assert q(Engine.AURORA_POSTGRESQL, "SELECT count(*) FROM pg_index WHERE indexrelid = "
                                       "'messages_recipient_id_idx'::regclass AND indisvalid") == 1
    run("migrate-code")
    run("backfill")
    state = migration_state(root)
    for engine, cell in CELLS.items():
        assert q(engine, "SELECT count(*) FROM messages WHERE recipient_id IS NULL") == 0
        assert q(engine, "SELECT count(*) FROM messages WHERE recipient_id <> to_phone") == 0
        assert state.get(cell, "backfill").rows_done == state.get(cell, "backfill").rows_total == 3_000
    run("migrate-code-readonly")
    out = run("contract")
    for engine in Engine:
        assert q(engine, column("to_phone", schema[engine])) == 0
        assert q(engine, "SELECT count(*) FROM messages WHERE recipient_id LIKE '+1555%'") == 3_000
    assert "Successfully altered" in "\n".join(out[Engine.AURORA_MYSQL])


def migration_state(root: Path) -> MigrationState:
    from fleet.stores import JsonStore

    return JsonStore(root).load(SAMPLE)


@pytest.mark.parametrize("engine", list(Engine), ids=[e.value for e in Engine])
def test_contract_gate_refuses_an_incomplete_backfill(tmp_path: Path, engine: Engine, postgres: PostgresServer,
                                                      mariadb: MariaDBServer) -> None:
    root = two_cell_root(tmp_path)
    plan = migration_plan(root, SAMPLE)
    cell = CELLS[engine]
    fresh_messages(engine, postgres, mariadb, 10, expanded=True)
    scalar(engine, postgres, mariadb, "SELECT count(*) FROM messages")
    gate = cell_commands(plan, plan.phase("contract"), cell, plan.texts)[0]
    assert " migrate check " in gate
    env = shell_env(root, postgres)
    refused = run_line(gate, env, mariadb)
    assert refused.returncode == 1
    assert "no NULL in messages.recipient_id: expected 0, got 10" in refused.stderr
    assert "Traceback" not in refused.stderr
