"""The declared backfill against one `UPDATE ... SET new = old`, on real PostgreSQL and MariaDB.

    .venv/bin/python -m benchmarks.backfill [--rows 100000 1000000] [--engine aurora-mysql]

Per engine and table size, one JSON line; `meets` says which of the three targets below it meets:

* `ratio`: rows per second of the generic backfill (default chunk time) over those of a single
  autocommitted UPDATE of the same freshly loaded, vacuumed and analysed table, no other traffic
  (target: at least 0.7);
* `slowest_batch_s`: the slowest committed batch of that run (target: at most 2 s);
* `writer_p99_ms_quiet` / `writer_p99_ms_backfill`: p99 latency of a writer process (the dual-writing
  application: single-row UPDATEs of both columns on uniformly random rows, one every 2 ms) on the
  same freshly loaded table, first with nothing else running, then while the backfill runs (target:
  backfill at most 2x quiet). The writer is its own process, as an application is (it shares no
  interpreter lock with the runner); each round reloads the table and takes the quiet window
  right before the backfill, as long as a backfill without the writer lasts (8 to 60 s), so both
  windows see the same table and cache and, as far as a shared machine allows, the same load.
  Rounds repeat until the backfill windows hold at least `MIN_SAMPLES` writes (a 100,000-row
  backfill lasts a few seconds: one round would give a p99 of a few hundred samples); p99 is the
  nearest rank over the pooled samples of each window.
* `writer_lock_waits_backfill` / `writer_lock_wait_ms_backfill` (MariaDB only; PostgreSQL keeps no
  such counter): row-lock waits and their total time over the pooled backfill windows, from InnoDB's
  `Innodb_row_lock_waits` / `Innodb_row_lock_time` (only the writer and the backfill use the server,
  so these are the writes that waited on a batch). Unlike the p99 they barely depend on the machine's
  load: with fewer waits than 1% of `writer_samples_backfill` (and short ones), what is left of
  the p99's rise is CPU, not locks.
* `writer_p99_ms_side_table`: the same writer on a copy of the table while the backfill runs on
  the original, so the backfill's CPU and I/O are there but none of its row locks: what is left of
  the rise once lock waits are impossible.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import random
import shutil
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from fleet.backfill import Options, connect, run
from migrations.backfill import Target
from model.cells import Engine
from tests.migrations.support import fresh_messages, my_connect, pg_connect
from tests.support.servers import MariaDBServer, PostgresServer, mariadb_server, postgres_server

TARGET = Target("messages", "id", {"to_phone": "recipient_id"})
MIN_SAMPLES = 2_000
QUIET_SECONDS = 8.0
MAX_QUIET_SECONDS = 60.0
MAX_ROUNDS = 6
SIDE_ROUNDS = 1
WRITE_EVERY_S = 0.002
MIN_RATIO, MAX_BATCH_S, MAX_P99_RATIO = 0.7, 2.0, 2.0  # the targets, echoed in each line's `meets`


def _conn(engine: Engine, pg: PostgresServer, my: MariaDBServer) -> Any:
    return pg_connect(pg) if engine is Engine.AURORA_POSTGRESQL else my_connect(my)


def _fresh(engine: Engine, rows: int, pg: PostgresServer, my: MariaDBServer) -> None:
    """A freshly loaded `messages`, vacuumed and analysed as a production table is (not a bulk load's first read)."""
    fresh_messages(engine, pg, my, rows, expanded=True)
    with _conn(engine, pg, my) as conn:
        cur = conn.cursor()
        cur.execute("VACUUM ANALYZE messages" if engine is Engine.AURORA_POSTGRESQL else "ANALYZE TABLE messages")
        if engine is not Engine.AURORA_POSTGRESQL:
            cur.fetchall()


def _single_update(engine: Engine, pg: PostgresServer, my: MariaDBServer) -> float:
    with _conn(engine, pg, my) as conn:  # autocommit: the timing includes the commit
        cur = conn.cursor()
        started = time.monotonic()
        cur.execute("UPDATE messages SET recipient_id = to_phone")
        return time.monotonic() - started


def _writer(engine: str, dsn: str, table: str, rows: int, stop: Event, ready: Event, out: Connection) -> None:
    """The application, in its own process: (start, seconds) of each autocommitted single-row write."""
    conn = connect(engine, dsn)
    cur = conn.cursor()
    rng = random.Random(13)
    samples: list[tuple[float, float]] = []
    sql = f"UPDATE {table} SET to_phone = %s, recipient_id = %s WHERE id = %s"  # table: a constant of this module
    ready.set()
    while not stop.is_set():
        phone = f"+1777{rng.randrange(10**7):07d}"
        started = time.monotonic()
        cur.execute(sql, (phone, phone, rng.randrange(1, rows + 1)))
        conn.commit()
        samples.append((started, time.monotonic() - started))
        time.sleep(WRITE_EVERY_S)
    conn.close()
    out.send(samples)
    out.close()


class WriterProcess:
    """A writer process started on `table`; `stop()` returns its samples."""

    def __init__(self, engine: Engine, dsn: str, table: str, rows: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.stop_event, ready = ctx.Event(), ctx.Event()
        self.receive, send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_writer, args=(engine.value, dsn, table, rows, self.stop_event, ready, send))
        self.process.start()
        send.close()
        ready.wait(60)
        time.sleep(0.5)  # warm-up writes, dropped by the windows below

    def stop(self) -> list[tuple[float, float]]:
        self.stop_event.set()
        samples: list[tuple[float, float]] = self.receive.recv()
        self.process.join()
        return samples


def _window(samples: list[tuple[float, float]], start: float, end: float) -> list[float]:
    return [seconds for began, seconds in samples if start <= began < end]


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def _dsn(engine: Engine, pg: PostgresServer, my: MariaDBServer, base: Path) -> str:
    if engine is Engine.AURORA_POSTGRESQL:
        return pg.dsn.replace("dbname=postgres", "dbname=product")
    option = base / "product.cnf"
    option.write_text(my.option_file.read_text() + "database=product\n", encoding="utf-8")
    return str(option)


def _side_table(engine: Engine, pg: PostgresServer, my: MariaDBServer) -> None:
    """`messages_side`: a copy of `messages` with its key, for the writer that shares no row with the backfill."""
    with _conn(engine, pg, my) as conn:
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS messages_side")
        if engine is Engine.AURORA_POSTGRESQL:
            cur.execute("CREATE TABLE messages_side AS SELECT * FROM messages")
            cur.execute("ALTER TABLE messages_side ADD PRIMARY KEY (id)")
            cur.execute("VACUUM ANALYZE messages_side")
        else:
            cur.execute("CREATE TABLE messages_side LIKE messages")
            cur.execute("INSERT INTO messages_side SELECT * FROM messages")


def _backfill(engine: Engine, dsn: str, migration_id: str) -> list[float]:
    out = io.StringIO()
    conn = connect(engine, dsn)
    try:
        run(conn, engine, TARGET, Options(migration_id), out)
    finally:
        conn.close()
    return [json.loads(line)["seconds"] for line in out.getvalue().splitlines()]


def _lock_waits(engine: Engine, pg: PostgresServer, my: MariaDBServer) -> tuple[int, int]:
    """InnoDB's row-lock waits so far and their milliseconds (PostgreSQL: none counted)."""
    if engine is Engine.AURORA_POSTGRESQL:
        return 0, 0
    with _conn(engine, pg, my) as conn:
        cur = conn.cursor()
        cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_row_lock_time')")
        found = {name: int(value) for name, value in cur.fetchall()}
    return found["Innodb_row_lock_waits"], found["Innodb_row_lock_time"]


def _writer_rounds(engine: Engine, rows: int, pg: PostgresServer, my: MariaDBServer, dsn: str,
                   table: str, quiet_s: float, max_rounds: int = MAX_ROUNDS,
                   ) -> tuple[list[float], list[float], int, float, tuple[int, int]]:
    """Quiet and backfill-time write latencies pooled over rounds (a freshly loaded table each), rounds,
    backfill seconds, and the row-lock waits (count, ms) during the backfills."""
    quiet: list[float] = []
    loaded: list[float] = []
    rounds, busy, waits, wait_ms = 0, 0.0, 0, 0
    while rounds < max_rounds and len(loaded) < MIN_SAMPLES:
        rounds += 1
        _fresh(engine, rows, pg, my)
        if table != "messages":
            _side_table(engine, pg, my)
        writer = WriterProcess(engine, dsn, table, rows)
        quiet_from = time.monotonic()
        time.sleep(quiet_s)
        before = _lock_waits(engine, pg, my)
        backfill_from = time.monotonic()
        _backfill(engine, dsn, f"bench-{table}-{rounds}")
        backfill_to = time.monotonic()
        after = _lock_waits(engine, pg, my)
        waits, wait_ms = waits + after[0] - before[0], wait_ms + after[1] - before[1]
        busy += backfill_to - backfill_from
        samples = writer.stop()
        quiet += _window(samples, quiet_from, backfill_from)
        loaded += _window(samples, backfill_from, backfill_to)
    return quiet, loaded, rounds, busy, (waits, wait_ms)


def measure(engine: Engine, rows: int, pg: PostgresServer, my: MariaDBServer, base: Path) -> dict[str, Any]:
    """The figures of one engine and table size (see the module docstring)."""
    dsn = _dsn(engine, pg, my, base)
    _fresh(engine, rows, pg, my)
    single = _single_update(engine, pg, my)
    _fresh(engine, rows, pg, my)
    started = time.monotonic()
    batches = _backfill(engine, dsn, "bench")
    generic = time.monotonic() - started
    quiet_s = min(MAX_QUIET_SECONDS, max(QUIET_SECONDS, generic))  # as long as a backfill, within bounds
    quiet, loaded, rounds, busy, (waits, wait_ms) = _writer_rounds(engine, rows, pg, my, dsn, "messages", quiet_s)
    _, side, _, _, _ = _writer_rounds(engine, rows, pg, my, dsn, "messages_side", 0, SIDE_ROUNDS)
    with _conn(engine, pg, my) as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS messages_side")
    ms = 1000
    ratio, p99_ratio = single / generic, _p99(loaded) / _p99(quiet)
    return {
        "meets": {"ratio_at_least_0.7": ratio >= MIN_RATIO, "slowest_batch_at_most_2s": max(batches) <= MAX_BATCH_S,
                  "writer_p99_at_most_2x": p99_ratio <= MAX_P99_RATIO},
        "engine": engine.value, "rows": rows,
        "generic_rows_per_s": round(rows / generic), "single_update_rows_per_s": round(rows / single),
        "ratio": round(ratio, 3), "batches": len(batches), "slowest_batch_s": max(batches),
        "median_batch_s": round(statistics.median(batches), 4),
        "generic_rows_per_s_with_writer": round(rows * rounds / busy), "writer_rounds": rounds,
        "writer_samples_quiet": len(quiet), "writer_samples_backfill": len(loaded),
        "writer_p50_ms_quiet": round(statistics.median(quiet) * ms, 2),
        "writer_p50_ms_backfill": round(statistics.median(loaded) * ms, 2),
        "writer_p99_ms_quiet": round(_p99(quiet) * ms, 2), "writer_p99_ms_backfill": round(_p99(loaded) * ms, 2),
        "writer_p99_ms_side_table": round(_p99(side) * ms, 2),
        "writer_p99_ratio": round(p99_ratio, 2),
        "writer_lock_waits_backfill": waits if engine is Engine.AURORA_MYSQL else None,
        "writer_lock_wait_ms_backfill": wait_ms if engine is Engine.AURORA_MYSQL else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="table sizes")
    parser.add_argument("--engine", choices=[e.value for e in Engine], action="append", help="default: both")
    args = parser.parse_args()
    engines = [Engine(e) for e in args.engine] if args.engine else list(Engine)
    base = Path(tempfile.mkdtemp(prefix="cellfleet-bench-"))
    base.chmod(0o755)  # the PostgreSQL server runs as `postgres` under it
    try:
        (base / "pg").mkdir()
        (base / "my").mkdir()
        with postgres_server(base / "pg") as pg, mariadb_server(base / "my") as my:
            for engine in engines:
                for rows in args.rows:
                    print(json.dumps(measure(engine, rows, pg, my, base), sort_keys=True), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
