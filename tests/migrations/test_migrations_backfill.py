"""The declared backfill on real PostgreSQL and MariaDB: SIGKILLed at random points, and under live writers.

* 200,000 rows, the backfill (`python -m fleet.backfill`, the runner `fleet migrate backfill` uses)
  killed with SIGKILL 20 times at random moments after it has started committing, restarted each
  time: at the end new = old on every row and the checkpoint is at the last key.
* A writer plays the seed's application: old code writes only `to_phone` until `migrate-code`
  completes; the backfill starts after that (as the state machine requires) while the dual-writing
  code inserts and updates both columns: at the end new = old on every row. A writer that keeps
  writing the old column only during the backfill is caught by the pre-contract checks.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleet.backfill import Options, check_failures, connect, run
from migrations.backfill import BatchSizer, Target, backoff_seconds
from migrations.commands import checks
from model.cells import Engine
from model.manifest import Change
from tests.migrations.support import REPO, SAMPLE, fresh_messages, my_connect, pg_connect, scalar
from tests.support.fleets import migration_plan
from tests.support.servers import MariaDBServer, PostgresServer

CHANGE = Target.of(Change(table="messages", columns={"to_phone": "recipient_id"}))
KILLS = 20
ROWS = 200_000


def _dsn(engine: Engine, pg: PostgresServer, my: MariaDBServer, tmp: Path) -> str:
    if engine is Engine.AURORA_POSTGRESQL:
        return pg.dsn.replace("dbname=postgres", "dbname=product")
    option = tmp / "product.cnf"
    option.write_text(my.option_file.read_text() + "database=product\n", encoding="utf-8")
    return str(option)


def _wrong(engine: Engine, pg: PostgresServer, my: MariaDBServer) -> int:
    differs = "recipient_id IS DISTINCT FROM to_phone" if engine is Engine.AURORA_POSTGRESQL \
        else "NOT (recipient_id <=> to_phone)"
    return scalar(engine, pg, my, f"SELECT count(*) FROM messages WHERE {differs}")


def test_batch_sizer_targets_the_chunk_time_and_never_exceeds_the_ceiling() -> None:
    sizer = BatchSizer(target=0.5)
    assert sizer.observe(1000, 0.05) == 2000  # fast: at most doubles
    assert sizer.observe(2000, 1.0) == 1000  # slow: scaled down towards 0.5 s
    assert sizer.observe(1000, 2.5) == 250  # over the 2 s ceiling: quartered
    assert sizer.observe(100, 0.5) == 250  # a short (last) batch says nothing about speed
    assert backoff_seconds(3, 25, 0) == 0.0
    assert backoff_seconds(30, 25, 0) == pytest.approx(0.1)
    assert backoff_seconds(30, 25, 10) == 5.0


def test_batch_sizer_shortens_batches_while_they_block_writers_and_recovers_when_calm() -> None:
    sizer = BatchSizer(target=0.5, contended=0.01, calm=1.0, size=50_000)
    assert sizer.goal == 0.5
    assert sizer.observe(50_000, 0.5, blocked=1) == 1_000  # a writer waited: down to 10 ms at once
    assert sizer.goal == 0.01
    assert sizer.observe(1_000, 0.01) == 1_000  # still contended: stays near 10 ms
    for _ in range(99):
        sizer.observe(1_000, 0.01)
    assert sizer.goal == 0.5  # 1 s of batches that blocked nobody: back to the normal target
    assert sizer.observe(1_000, 0.01) == 2_000  # and growing again, at most doubling
    assert BatchSizer(target=0.005, contended=0.01).observe(1_000, 0.01, blocked=2) == 500  # never above target


def test_batch_sizer_caps_batches_as_soon_as_others_write_before_anyone_waits() -> None:
    sizer = BatchSizer(target=0.5, contended=0.01, calm=1.0, size=1_000)
    assert sizer.observe(1_000, 0.01) == 2_000  # nobody else: grows towards 0.5 s
    assert sizer.observe(2_000, 0.02, writes=3) == 1_000  # others wrote, nobody waited yet: 10 ms at once
    assert sizer.goal == 0.01
    assert sizer.observe(1_000, 0.02, writes=1) == 500  # slower now: down again
    assert sizer.observe(500, 0.0025, writes=1) == 1_000  # faster: back up, at most doubling, towards 10 ms
    for _ in range(10):
        sizer.observe(1_000, 0.5, writes=1)
    assert sizer.goal == 0.01  # others keep writing: never calm, however long the batches took
    for _ in range(100):
        sizer.observe(100, 0.01)
    assert sizer.goal == 0.5  # 1 s of batches with no other writer: back to the normal target


@pytest.mark.slow
@pytest.mark.parametrize("engine", list(Engine), ids=[e.value for e in Engine])
def test_sigkill_at_random_points_loses_nothing(tmp_path: Path, engine: Engine, postgres: PostgresServer,
                                                mariadb: MariaDBServer) -> None:
    fresh_messages(engine, postgres, mariadb, ROWS, expanded=True)
    dsn = _dsn(engine, postgres, mariadb, tmp_path)
    command = [sys.executable, "-m", "fleet.backfill", "--migration-id", SAMPLE, "--engine", engine.value,
               "--dsn", dsn, "--table", "messages", "--column", "to_phone:recipient_id", "--target-seconds", "0.05"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = random.Random(13)
    kills, seen = 0, 0
    while kills < KILLS:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # committing batches now: kill somewhere in the next ones
        if not first:
            proc.wait()
            break
        seen = max(seen, json.loads(first)["rows_done"])
        time.sleep(rng.uniform(0, 0.08))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
        kills += 1
    assert kills == KILLS, "the backfill finished before every kill landed: make the table bigger"
    assert seen < ROWS
    assert _wrong(engine, postgres, mariadb) > 0  # the kills left work to do
    finish = subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=300)
    lines = [json.loads(line) for line in finish.stdout.splitlines()]
    assert {line["writes"] for line in lines} == {0}  # nobody else writes: our own statements are not counted
    last = lines[-1]
    assert last["rows_done"] == last["rows_total"] == ROWS
    assert _wrong(engine, postgres, mariadb) == 0
    assert scalar(engine, postgres, mariadb, "SELECT count(*) FROM messages WHERE recipient_id IS NULL") == 0
    assert scalar(engine, postgres, mariadb, "SELECT last_id FROM fleet_migration_checkpoints") == ROWS
    assert scalar(engine, postgres, mariadb, "SELECT rows_done FROM fleet_migration_checkpoints") == ROWS


class Writer(threading.Thread):
    """The application: old code (to_phone only) until `dual` is set, then dual-writing inserts and updates."""

    def __init__(self, engine: Engine, pg: PostgresServer, my: MariaDBServer, max_id: int,
                 old_code_forever: bool = False) -> None:
        super().__init__(daemon=True)
        self.engine, self.pg, self.my, self.max_id = engine, pg, my, max_id
        self.old_code_forever = old_code_forever
        self.dual = threading.Event()
        self.stop = threading.Event()
        self.writes = {"old": 0, "dual": 0}
        self.error: BaseException | None = None

    def _conn(self) -> Any:
        return pg_connect(self.pg) if self.engine is Engine.AURORA_POSTGRESQL else my_connect(self.my)

    def run(self) -> None:
        rng = random.Random(7)
        try:
            with self._conn() as conn:
                cur = conn.cursor()
                while not self.stop.is_set():
                    phone = f"+1666{rng.randrange(10**7):07d}"
                    row = rng.randrange(1, self.max_id)
                    if self.dual.is_set() and not self.old_code_forever:
                        if rng.random() < 0.3:
                            cur.execute("INSERT INTO messages (to_phone, recipient_id, body) VALUES (%s, %s, 'n')",
                                        (phone, phone))
                        else:
                            cur.execute("UPDATE messages SET to_phone = %s, recipient_id = %s WHERE id = %s",
                                        (phone, phone, row))
                        self.writes["dual"] += 1
                    else:
                        if rng.random() < 0.3:
                            cur.execute("INSERT INTO messages (to_phone, body) VALUES (%s, 'o')", (phone,))
                        else:
                            cur.execute("UPDATE messages SET to_phone = %s WHERE id = %s", (phone, row))
                        self.writes["old"] += 1
                    time.sleep(0.001)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.05)


def _gates(engine: Engine) -> list[tuple[str, str, str]]:
    plan = migration_plan(REPO, SAMPLE)
    return [(c.description, c.sql[engine], c.expect) for c in checks(plan, plan.phase("contract"))[0] if c.sql]


@pytest.mark.slow
@pytest.mark.parametrize("engine", list(Engine), ids=[e.value for e in Engine])
def test_concurrent_writer_loses_nothing(tmp_path: Path, engine: Engine, postgres: PostgresServer,
                                         mariadb: MariaDBServer) -> None:
    rows = 40_000
    fresh_messages(engine, postgres, mariadb, rows, expanded=True)
    writer = Writer(engine, postgres, mariadb, rows)
    writer.start()
    _until(lambda: writer.writes["old"] >= 50 or writer.error is not None)  # old code writes to_phone only
    writer.dual.set()  # migrate-code complete: every writer now writes both columns
    _until(lambda: writer.writes["dual"] >= 10 or writer.error is not None)
    conn = connect(engine, _dsn(engine, postgres, mariadb, tmp_path))
    try:
        out = io.StringIO()
        run(conn, engine, CHANGE, Options(SAMPLE, target_seconds=0.05), out)
        writer.stop.set()
        writer.join(timeout=10)
        assert writer.error is None, writer.error
        if engine is Engine.AURORA_MYSQL:  # the writer is seen before it waits on us (PostgreSQL: no such counter)
            assert sum(json.loads(line)["writes"] for line in out.getvalue().splitlines()) > 0
        assert writer.writes["old"] > 0
        assert writer.writes["dual"] > 0
        assert _wrong(engine, postgres, mariadb) == 0
        assert check_failures(conn, _gates(engine)) == []
    finally:
        writer.stop.set()
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("engine", list(Engine), ids=[e.value for e in Engine])
def test_pre_contract_checks_refuse_when_old_code_kept_writing(tmp_path: Path, engine: Engine,
                                                               postgres: PostgresServer,
                                                               mariadb: MariaDBServer) -> None:
    rows = 20_000
    fresh_messages(engine, postgres, mariadb, rows, expanded=True)
    writer = Writer(engine, postgres, mariadb, rows, old_code_forever=True)
    writer.start()
    conn = connect(engine, _dsn(engine, postgres, mariadb, tmp_path))
    try:
        with open(os.devnull, "w") as out:
            run(conn, engine, CHANGE, Options(SAMPLE, target_seconds=0.05), out)
        after = writer.writes["old"]
        _until(lambda: writer.writes["old"] >= after + 20 or writer.error is not None)  # old code goes on writing
        writer.stop.set()
        writer.join(timeout=10)
        assert writer.error is None, writer.error
        failed = check_failures(conn, _gates(engine))
        assert failed
        assert any(f.startswith("messages.recipient_id equals messages.to_phone on every row") for f in failed)
    finally:
        writer.stop.set()
        conn.close()
