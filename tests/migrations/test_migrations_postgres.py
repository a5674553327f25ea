"""The sample migration's PostgreSQL scripts on a real, throw-away PostgreSQL server.

The server is started by the test (initdb in a temp dir, unix socket only; as the `postgres`
user when the tests run as root). Scripts run through `psql` exactly as the runbook says; the
backfill runs in checkpointed batches and resumes; the runbook's checks run before contract.
MySQL has no server here: its scripts are covered by the parser-based lint only.
"""

from __future__ import annotations

import glob
import importlib.util
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from migrations.commands import Check, checks
from model.cells import Engine
from tests.support.fleets import migration_plan

REPO = Path(__file__).resolve().parents[2]
MIGRATION = "2025-01-15-recipient-id-column"
FOLDER = REPO / "migrations" / MIGRATION
PORT = 54329 + os.getpid() % 500

pytestmark = pytest.mark.slow


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if path is None:
        pytest.fail(f"PostgreSQL {name} not installed: run ./scripts/setup (Debian postgresql)")
    return path


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    base = tempfile.mkdtemp(prefix="cellfleet-pg-")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    subprocess.run(_as_server_user([_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
                   check=True, capture_output=True)
    options = f"-k {base} -p {PORT} -c listen_addresses='' -c fsync=off"
    subprocess.run(_as_server_user([_bin("pg_ctl"), "-D", data, "-o", options, "-w", "-l",
                                    os.path.join(base, "log"), "start"]), check=True, capture_output=True)
    try:
        yield f"host={base} port={PORT} user=postgres dbname=postgres"
    finally:
        subprocess.run(_as_server_user([_bin("pg_ctl"), "-D", data, "-m", "immediate", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _backfill_module() -> Any:
    spec = importlib.util.spec_from_file_location("sample_backfill", FOLDER / "backfill.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _psql(dsn: str, script: Path) -> None:
    env = {**os.environ, "PGOPTIONS": "-c lock_timeout=5s -c statement_timeout=900s"}
    subprocess.run([_bin("psql"), dsn, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script)], check=True, env=env,
                   capture_output=True)


def _sql(check: Check, engine: Engine) -> str:
    assert check.sql is not None
    return check.sql[engine]


def _scalar(conn: Any, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


def test_expand_backfill_check_contract_on_real_postgresql(server: str) -> None:
    plan = migration_plan(REPO, MIGRATION)
    before = {p.name.value: checks(plan, p)[0] for p in plan.phases}
    after = {p.name.value: checks(plan, p)[1] for p in plan.phases}
    pg = Engine.AURORA_POSTGRESQL
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS messages, fleet_migration_checkpoints")
        conn.execute("CREATE TABLE messages (id bigserial PRIMARY KEY, to_phone varchar(50) NOT NULL, body text)")
        conn.execute("INSERT INTO messages (to_phone, body) SELECT '+1555' || lpad(g::text, 7, '0'), 'hi' "
                     "FROM generate_series(1, 2500) g")
        sql_checks = [c for c in before["expand"] if c.sql]
        assert [_scalar(conn, _sql(c, pg)) for c in sql_checks] == [int(c.expect) for c in sql_checks]

        _psql(server, FOLDER / "expand.postgresql.sql")
        _psql(server, FOLDER / "expand.postgresql.sql")  # re-runnable
        assert [_scalar(conn, c.sql[pg]) for c in after["expand"] if c.sql] == [1]
        valid = _scalar(conn, "SELECT count(*) FROM pg_index WHERE indexrelid = 'messages_recipient_id_idx'::regclass "
                              "AND indisvalid")
        assert valid == 1

        # dual-writing code (v2.5.0) now writes both columns for new rows
        conn.execute("INSERT INTO messages (to_phone, recipient_id, body) VALUES ('+15559999999', '+15559999999', 'x')")
        backfill = _backfill_module()
        with psycopg.connect(server) as work:
            out = io.StringIO()
            first = backfill.backfill(work, "aurora-postgresql", batch_size=1000, max_batches=1, out=out)
            assert first["rows_done"] == 1000
            assert first["rows_total"] == 2501
            assert _scalar(conn, "SELECT count(*) FROM messages WHERE recipient_id IS NULL") == 1500
            resumed = backfill.backfill(work, "aurora-postgresql", batch_size=1000, out=out)
            assert resumed["rows_done"] == 2501
            assert resumed["last_id"] == 2501
            assert len(out.getvalue().splitlines()) == 3  # one progress line per batch (1000, 2000, 2501)
        assert _scalar(conn, "SELECT rows_done FROM fleet_migration_checkpoints") == 2501

        # the runbook's checks before contract: no NULLs, new equals old on every row
        gates = [c for c in before["contract"] if c.sql]
        assert len(gates) == 2
        assert [_scalar(conn, _sql(c, pg)) for c in gates] == [0, 0]
        _psql(server, FOLDER / "contract.postgresql.sql")
        assert [_scalar(conn, c.sql[pg]) for c in after["contract"] if c.sql] == [0]
        assert _scalar(conn, "SELECT count(*) FROM messages WHERE recipient_id LIKE '+1555%'") == 2501


def test_checks_catch_an_incomplete_backfill(server: str) -> None:
    plan = migration_plan(REPO, MIGRATION)
    gates = [c for c in checks(plan, plan.phase("contract"))[0] if c.sql]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS messages, fleet_migration_checkpoints")
        conn.execute("CREATE TABLE messages (id bigserial PRIMARY KEY, to_phone varchar(50) NOT NULL)")
        conn.execute("INSERT INTO messages (to_phone) SELECT g::text FROM generate_series(1, 10) g")
        _psql(server, FOLDER / "expand.postgresql.sql")
        conn.execute("UPDATE messages SET recipient_id = to_phone WHERE id <= 7")
        conn.execute("UPDATE messages SET recipient_id = 'wrong' WHERE id = 1")
        assert [_scalar(conn, _sql(c, Engine.AURORA_POSTGRESQL)) for c in gates] == [3, 4]
