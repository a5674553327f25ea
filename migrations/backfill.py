"""The declared backfill, as data: the SQL of each engine and the batch-size controller (no I/O here).

A manifest's `change: {table, key, columns}` is the whole description. The tool's runner
(`fleet/backfill.py`) walks the table by key in batches (`key > last ORDER BY key LIMIT n`),
updates only the rows whose new column differs from the old one, and records the last key in
`fleet_migration_checkpoints` in the same transaction, so a killed run resumes where the last
committed batch ended and a re-run is harmless. The batch size adapts to a target batch time
(like pt-online-schema-change's `--chunk-time`): 0.5 s by default, never above 2 s.

A batch holds the row locks of every row it changed until it commits, so a writer touching one of
them waits up to the batch's duration: with 0.5 s batches a uniformly writing application sees
waits of hundreds of milliseconds (the benchmark measured its p99 going from 9 ms to 190 ms, while
the same writer on a table the backfill does not touch stayed at 11 ms: lock waits, not CPU).
So while anyone else writes, a batch's lock hold time is capped: the target drops to
`CONTENDED_SECONDS` (10 ms, about gh-ost's 1,000-row chunks) and the runner rests three times as
long as each batch took (`fleet.backfill.Options.nice`, gh-ost's `--nice-ratio`): once lock waits
are gone, what raises a writer's p99 is the backfill's CPU and log writes (on MariaDB at 100,000
rows, idle 2-core machine: 2.6x with a ratio of 1, 1.4x with 3, at 13k instead of 23k rows/s); it
returns to the normal target after `CALM_SECONDS` of batches during which nobody else wrote or
waited. Two signals, read per batch:

* `blocked`: sessions waiting on a row lock just before our commit. A write that hit one of our
  rows waits until that commit, so this sees every write the batch blocked -- but only after the
  damage: growing from 1,000 rows towards 0.5 s, the first batch to block someone was typically
  8,000 rows, 80 ms, and every later return to 0.5 s batches (after a calm spell) did it again.
* `writes`: write statements other sessions ran since the previous batch (MySQL's `Com_*`
  counters, server-wide, minus our own UPDATE and checkpoint). It says a writer is there before
  it has waited on us, so the first batch that sees one is already short and the backfill never
  grows back while the application writes. Server-wide is deliberate: on MySQL 8 (Aurora MySQL
  3) the per-table and lock-wait tables are performance_schema's, which Aurora turns on only with
  Performance Insights, and MariaDB 10.11's `information_schema.INNODB_LOCK_WAITS` is gone from
  MySQL 8, so the status counters are what both engines share; a write to another table costs us
  throughput, never a writer's latency. PostgreSQL has no exact live counter (its statistics
  reach the views up to a second late), so there `blocked` alone decides; its batches block less
  (no next-key or gap locks, and no purge running beside them).

Short batches and rests cost throughput, paid only while others write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the crash tests start the runner many times: it imports no pydantic model
    from model.manifest import Change

POSTGRESQL = "aurora-postgresql"  # model.cells.Engine values (a StrEnum compares equal)

CHECKPOINTS = "fleet_migration_checkpoints"
TARGET_SECONDS = 0.5
MAX_SECONDS = 2.0
CONTENDED_SECONDS = 0.01
CALM_SECONDS = 5.0
FIRST_BATCH = 1_000
MIN_BATCH = 100
MAX_BATCH = 200_000


@dataclass(frozen=True)
class BackfillSql:
    """Every statement the runner sends; identifiers come from the validated manifest only."""

    setup: tuple[str, ...]
    session: tuple[str, ...]
    load: str
    count: str
    upper: str
    update: str
    save: str
    load_probe: str
    blocked_probe: str
    writes_probe: str  # rows (name, value): every session's write statements so far; "" where unavailable
    own_writes: int  # what one committed batch adds to `writes_probe` (its UPDATE and its checkpoint)


@dataclass(frozen=True)
class Target:
    """What a backfill walks: `table` by integer `key`, copying each old column into its new one."""

    table: str
    key: str
    columns: Mapping[str, str]

    @classmethod
    def of(cls, change: Change) -> Target:
        return cls(change.table, change.key, dict(change.columns))


def backfill_sql(target: Target, engine: str, lock_timeout_s: int = 5) -> BackfillSql:
    """The statements of `target` for `engine` (parameters are `%s`, both drivers' style)."""
    t, k = target.table, target.key
    sets = ", ".join(f"{new} = {old}" for old, new in target.columns.items())
    if engine == POSTGRESQL:
        differs = " OR ".join(f"{new} IS DISTINCT FROM {old}" for old, new in target.columns.items())
        return BackfillSql(
            setup=(f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (migration_id text PRIMARY KEY, last_id bigint NOT NULL,"
                   " rows_done bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",),
            session=(f"SET lock_timeout = '{lock_timeout_s}s'", "SET statement_timeout = '60s'"),
            load=f"SELECT last_id, rows_done FROM {CHECKPOINTS} WHERE migration_id = %s",  # noqa: S608 - constant name
            count=f"SELECT count(*) FROM {t}",  # noqa: S608 - manifest identifiers
            upper=f"SELECT max({k}), count(*) FROM (SELECT {k} FROM {t} WHERE {k} > %s ORDER BY {k} LIMIT %s) AS b",  # noqa: S608 - manifest identifiers
            update=f"UPDATE {t} SET {sets} WHERE {k} > %s AND {k} <= %s AND ({differs})",  # noqa: S608 - manifest identifiers
            save=f"INSERT INTO {CHECKPOINTS} (migration_id, last_id, rows_done) VALUES (%s, %s, %s)"  # noqa: S608 - constant name
                 " ON CONFLICT (migration_id) DO UPDATE SET last_id = excluded.last_id,"
                 " rows_done = excluded.rows_done, updated_at = now()",
            load_probe="SELECT count(*) FROM pg_locks WHERE NOT granted",
            # sessions waiting on a lock this backfill's transaction holds (pg_locks needs no grant)
            blocked_probe="SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
                          " AND pg_backend_pid() = ANY(pg_blocking_pids(pid))",
            writes_probe="",
            own_writes=0,
        )
    differs = " OR ".join(f"NOT ({new} <=> {old})" for old, new in target.columns.items())
    return BackfillSql(
        setup=(f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (migration_id VARCHAR(100) PRIMARY KEY,"
               " last_id BIGINT NOT NULL, rows_done BIGINT NOT NULL, updated_at TIMESTAMP NOT NULL"
               " DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)",),
        # READ COMMITTED: no gap locks, so inserts past the batch's last key are never blocked.
        session=("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                 f"SET SESSION innodb_lock_wait_timeout = {lock_timeout_s}"),
        load=f"SELECT last_id, rows_done FROM {CHECKPOINTS} WHERE migration_id = %s",  # noqa: S608 - constant name
        count=f"SELECT count(*) FROM {t}",  # noqa: S608 - manifest identifiers
        upper=f"SELECT max({k}), count(*) FROM (SELECT {k} FROM {t} WHERE {k} > %s ORDER BY {k} LIMIT %s) AS b",  # noqa: S608 - manifest identifiers
        update=f"UPDATE {t} SET {sets} WHERE {k} > %s AND {k} <= %s AND ({differs})",  # noqa: S608 - manifest identifiers
        save=f"INSERT INTO {CHECKPOINTS} (migration_id, last_id, rows_done) VALUES (%s, %s, %s)"  # noqa: S608 - constant name
             " ON DUPLICATE KEY UPDATE last_id = VALUES(last_id), rows_done = VALUES(rows_done)",
        load_probe="SHOW GLOBAL STATUS LIKE 'Threads_running'",
        # row-lock waits now, any table (MySQL 8 and MariaDB both have it; the lock-wait tables differ)
        blocked_probe="SHOW GLOBAL STATUS LIKE 'Innodb_row_lock_current_waits'",
        # the same counters on MariaDB 10.11 and MySQL 8 (Aurora MySQL 3); INSERT ... ON DUPLICATE KEY counts in Com_insert
        writes_probe="SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_insert', 'Com_insert_select', 'Com_update',"
                     " 'Com_update_multi', 'Com_delete', 'Com_delete_multi', 'Com_replace', 'Com_replace_select')",
        own_writes=2,
    )


@dataclass
class BatchSizer:
    """Next batch size from the last batch's duration: towards the target seconds, at most doubling.

    The target is `target`, or `contended` while, in the last `calm` seconds of batches, a batch
    blocked a writer or others wrote.
    """

    target: float = TARGET_SECONDS
    ceiling: float = MAX_SECONDS
    contended: float = CONTENDED_SECONDS
    calm: float = CALM_SECONDS
    size: int = FIRST_BATCH
    since_blocked: float = CALM_SECONDS

    @property
    def goal(self) -> float:
        """The batch time aimed at now."""
        return min(self.target, self.contended) if self.since_blocked < self.calm else self.target

    def observe(self, rows: int, seconds: float, blocked: int = 0, writes: int = 0) -> int:
        """Record a batch of `rows` that took `seconds`, `blocked` sessions waiting on it, `writes` by others; the next size."""
        speed = rows / max(seconds, 1e-3)
        if blocked or writes:
            self.since_blocked = 0.0
            if blocked or speed * self.goal < self.size:  # down at once, not by halves
                self.size = max(MIN_BATCH, min(self.size, int(speed * self.goal)))
                return self.size
        else:
            self.since_blocked += seconds
        if seconds >= self.ceiling:
            self.size = max(MIN_BATCH, self.size // 4)
        elif rows >= self.size:  # a full batch: scale by speed, never more than 2x or less than 1/2 at once
            wanted = int(speed * self.goal)
            self.size = max(MIN_BATCH, min(MAX_BATCH, self.size * 2, max(self.size // 2, wanted)))
        return self.size

    def failed(self) -> int:
        """A batch hit a lock or statement timeout: quarter the size."""
        self.size = max(MIN_BATCH, self.size // 4)
        return self.size


def backoff_seconds(load: int, limit: int, attempt: int) -> float:
    """How long to wait before the next batch: 0 under `limit`, else exponential up to 5 s."""
    if load <= limit:
        return 0.0
    return float(min(5.0, 0.1 * 2 ** min(attempt, 6)))
