"""Run the declared backfill on one cell's database (`migrations.backfill` gives the SQL and the sizing).

One JSON line per committed batch on stdout: `{"rows_done": N, "rows_total": T, "last_id": I,
"batch": B, "seconds": S, "blocked": W, "writes": O}` (W: sessions seen waiting on a row lock just
before the commit; O: write statements of other sessions since the previous batch, MySQL only);
`fleet migrate advance --progress -` records them. Also runnable on its own (`python -m fleet.backfill`),
which the crash tests use: it imports no more than it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from migrations.backfill import POSTGRESQL, TARGET_SECONDS, BatchSizer, Target, backfill_sql, backoff_seconds

ENGINES = (POSTGRESQL, "aurora-mysql")

LOCK_ERRORS = ("lock timeout", "lock wait timeout", "canceling statement")


@dataclass(frozen=True)
class Options:
    migration_id: str
    target_seconds: float = TARGET_SECONDS
    max_load: int = 25  # MySQL Threads_running, PostgreSQL waiting locks: back off above it
    max_batches: int | None = None
    nice: float = 3.0  # while batches block writers, rest this many times each batch's duration (gh-ost's --nice-ratio)


def connect(engine: str, dsn: str, database: str | None = None) -> Any:
    """A DB-API connection, autocommit off: psycopg (a libpq string) or PyMySQL (an option file, `database`)."""
    if engine == POSTGRESQL:
        import psycopg

        return psycopg.connect(dsn)
    import pymysql  # type: ignore[import-untyped]

    extra = {"database": database} if database else {}
    return pymysql.connect(read_default_file=dsn, autocommit=False, **extra)


def _one(cur: Any, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    cur.execute(sql, params)
    row = cur.fetchone()
    return tuple(row) if row is not None else ()


def _load(cur: Any, probe: str) -> int:
    row = _one(cur, probe)
    return int(row[-1]) if row else 0


def _total(cur: Any, probe: str) -> int:
    """The sum of a `SHOW STATUS`-style probe's values (0 without a probe)."""
    if not probe:
        return 0
    cur.execute(probe)
    return sum(int(row[-1]) for row in cur.fetchall())


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(word in text for word in LOCK_ERRORS) or getattr(exc, "args", (None,))[0] in {1205, 3024}


def run(conn: Any, engine: str, target: Target, options: Options, out: TextIO = sys.stdout) -> dict[str, int]:
    """Batches until the table is done (or `max_batches`); returns the last progress."""
    sql = backfill_sql(target, engine)
    sizer = BatchSizer(target=options.target_seconds)
    with conn.cursor() as cur:
        for statement in (*sql.setup, *sql.session):
            cur.execute(statement)
        conn.commit()
        found = _one(cur, sql.load, (options.migration_id,))
        last_id, rows_done = (int(found[0]), int(found[1])) if found else (0, 0)
        total = int(_one(cur, sql.count)[0])
        conn.commit()
        batches, busy = 0, 0
        seen = _total(cur, sql.writes_probe)
        while options.max_batches is None or batches < options.max_batches:
            wait = backoff_seconds(_load(cur, sql.load_probe), options.max_load, busy)
            if wait:  # the probe opened the transaction the batch would run in
                conn.commit()
                busy += 1
                time.sleep(wait)
                continue
            busy = 0
            started = time.monotonic()
            try:
                upper, scanned = _one(cur, sql.upper, (last_id, sizer.size))
                if not scanned:
                    conn.commit()
                    break
                cur.execute(sql.update, (last_id, upper))
                blocked = _load(cur, sql.blocked_probe)  # before the commit releases whoever waits on us
                cur.execute(sql.save, (options.migration_id, int(upper), rows_done + int(scanned)))
                conn.commit()
            except Exception as exc:
                conn.rollback()
                if not _is_lock_error(exc):
                    raise
                sizer.failed()
                time.sleep(backoff_seconds(1, 0, busy))
                continue
            seconds = time.monotonic() - started
            now = _total(cur, sql.writes_probe)  # after the commit: no lock is held while it runs
            writes, seen = max(0, now - seen - sql.own_writes), now
            last_id, rows_done = int(upper), rows_done + int(scanned)
            batches += 1
            line = {"rows_done": rows_done, "rows_total": max(total, rows_done), "last_id": last_id,
                    "batch": int(scanned), "seconds": round(seconds, 4), "blocked": blocked, "writes": writes}
            print(json.dumps(line, sort_keys=True), file=out, flush=True)
            sizer.observe(int(scanned), seconds, blocked, writes)
            if sizer.goal < sizer.target:  # others are writing: leave them the CPU and the log half the time
                time.sleep(seconds * options.nice)
    return {"rows_done": rows_done, "rows_total": max(total, rows_done), "last_id": last_id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a declared backfill on one database.")
    parser.add_argument("--migration-id", required=True, help="checkpoint key")
    parser.add_argument("--engine", required=True, choices=ENGINES, help="database engine")
    parser.add_argument("--dsn", required=True, help="libpq connection string, or a MySQL option file")
    parser.add_argument("--database", default=None, help="MySQL database (PostgreSQL: in the DSN)")
    parser.add_argument("--table", required=True, help="table to backfill")
    parser.add_argument("--key", default="id", help="integer primary key to walk")
    parser.add_argument("--column", action="append", required=True, help="old:new, repeat per column")
    parser.add_argument("--target-seconds", type=float, default=TARGET_SECONDS, help="target batch time")
    args = parser.parse_args(argv)
    target = Target(args.table, args.key, dict(c.split(":", 1) for c in args.column))
    conn = connect(args.engine, args.dsn, args.database)
    try:
        run(conn, args.engine, target, Options(args.migration_id, target_seconds=args.target_seconds))
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())


def check_failures(conn: Any, checks: list[tuple[str, str, str]]) -> list[str]:
    """Run (description, sql, expected) checks; the description and the value of each that fails."""
    failed = []
    with conn.cursor() as cur:
        for description, sql, expect in checks:
            got = str(_one(cur, sql)[0])
            if got != expect:
                failed.append(f"{description}: expected {expect}, got {got}")
    conn.commit()
    return failed
