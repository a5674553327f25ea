"""Backfill recipient_id from to_phone in checkpointed batches (PostgreSQL or MySQL).

Walks `messages` by primary key in batches of `--batch-size` rows; each batch updates the rows
whose new column differs from the old one and records the last id in
`fleet_migration_checkpoints` in the same transaction, so a stopped or failed run resumes where
it left off and re-running is harmless. Prints one JSON line per batch:
`{"rows_done": N, "rows_total": T, "last_id": I}` (feed it to `fleet migrate advance --rows`).

  python backfill.py --engine aurora-postgresql --dsn "service=smb-us-1"
  python backfill.py --engine aurora-mysql --dsn /etc/cellfleet/mysql/smb-us-3.cnf
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

MIGRATION_ID = "2025-01-15-recipient-id-column"
TABLE, OLD, NEW, KEY = "messages", "to_phone", "recipient_id", "id"

_PG = {
    "checkpoints": "CREATE TABLE IF NOT EXISTS fleet_migration_checkpoints ("
    " migration_id text PRIMARY KEY, last_id bigint NOT NULL, rows_done bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
    "timeouts": "SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '60s'",
    "differs": f"{NEW} IS DISTINCT FROM {OLD}",
    "save": "INSERT INTO fleet_migration_checkpoints (migration_id, last_id, rows_done) VALUES (%s, %s, %s)"
    " ON CONFLICT (migration_id) DO UPDATE SET last_id = excluded.last_id, rows_done = excluded.rows_done,"
    " updated_at = now()",
}
_MYSQL = {
    "checkpoints": "CREATE TABLE IF NOT EXISTS fleet_migration_checkpoints ("
    " migration_id VARCHAR(100) PRIMARY KEY, last_id BIGINT NOT NULL, rows_done BIGINT NOT NULL,"
    " updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)",
    "timeouts": "SET SESSION innodb_lock_wait_timeout = 5",
    "differs": f"NOT ({NEW} <=> {OLD})",
    "save": "INSERT INTO fleet_migration_checkpoints (migration_id, last_id, rows_done) VALUES (%s, %s, %s)"
    " ON DUPLICATE KEY UPDATE last_id = VALUES(last_id), rows_done = VALUES(rows_done)",
}


def connect(engine: str, dsn: str) -> Any:
    """A DB-API connection with autocommit off: psycopg for PostgreSQL, PyMySQL for MySQL."""
    if engine == "aurora-postgresql":
        import psycopg

        return psycopg.connect(dsn)
    import pymysql  # type: ignore[import-untyped]

    return pymysql.connect(read_default_file=dsn, autocommit=False)


def _one(cur: Any, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    cur.execute(sql, params)
    row = cur.fetchone()
    return tuple(row) if row is not None else ()


def backfill(conn: Any, engine: str, batch_size: int, max_batches: int | None = None,
             pause: float = 0.0, out: Any = sys.stdout) -> dict[str, int]:
    """Run batches until the table is done (or `max_batches`); returns the final progress."""
    sql = _PG if engine == "aurora-postgresql" else _MYSQL
    with conn.cursor() as cur:
        cur.execute(sql["checkpoints"])
        conn.commit()
        found = _one(cur, "SELECT last_id, rows_done FROM fleet_migration_checkpoints WHERE migration_id = %s",
                     (MIGRATION_ID,))
        last_id, rows_done = (int(found[0]), int(found[1])) if found else (0, 0)
        total = int(_one(cur, f"SELECT count(*) FROM {TABLE}")[0])  # noqa: S608 - constant names
        conn.commit()
        batches = 0
        while max_batches is None or batches < max_batches:
            for statement in sql["timeouts"].split("; "):
                cur.execute(statement)
            upper, scanned = _one(
                cur,
                f"SELECT max({KEY}), count(*) FROM (SELECT {KEY} FROM {TABLE} WHERE {KEY} > %s"  # noqa: S608
                f" ORDER BY {KEY} LIMIT %s) AS batch",
                (last_id, batch_size),
            )
            if not scanned:
                conn.commit()
                break
            cur.execute(
                f"UPDATE {TABLE} SET {NEW} = {OLD} WHERE {KEY} > %s AND {KEY} <= %s AND {sql['differs']}",  # noqa: S608
                (last_id, upper),
            )
            last_id, rows_done = int(upper), rows_done + int(scanned)
            cur.execute(sql["save"], (MIGRATION_ID, last_id, rows_done))
            conn.commit()
            batches += 1
            progress = {"rows_done": rows_done, "rows_total": max(total, rows_done), "last_id": last_id}
            print(json.dumps(progress, sort_keys=True), file=out, flush=True)
            if pause:
                time.sleep(pause)
    return {"rows_done": rows_done, "rows_total": max(total, rows_done), "last_id": last_id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", required=True, choices=["aurora-postgresql", "aurora-mysql"])
    parser.add_argument("--dsn", required=True, help="libpq connection string, or a MySQL option file")
    parser.add_argument("--batch-size", type=int, default=10_000, help="rows between checkpoints")
    parser.add_argument("--max-batches", type=int, default=None, help="stop after this many batches")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds to sleep between batches")
    args = parser.parse_args(argv)
    conn = connect(args.engine, args.dsn)
    try:
        backfill(conn, args.engine, args.batch_size, args.max_batches, args.pause)
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
