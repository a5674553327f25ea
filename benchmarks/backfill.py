"""The declared backfill against one `UPDATE ... SET new = old`, on real PostgreSQL and MariaDB.

    .venv/bin/python -m benchmarks.backfill [--rows 100000 1000000] [--engine aurora-mysql]

Per engine and table size: rows per second of the generic backfill (target batch 0.5 s) and of a
single UPDATE of the same table, their ratio (target: at least 70%), the slowest batch (target:
at most 2 s), and a writer's p99 latency with and without the backfill running (target: at most 2x).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from fleet.backfill import Options, connect, run
from migrations.backfill import Target
from model.cells import Engine
from tests.migrations.support import fresh_messages, my_connect, pg_connect
from tests.support.servers import MariaDBServer, PostgresServer, mariadb_server, postgres_server

TARGET = Target("messages", "id", {"to_phone": "recipient_id"})


def _conn(engine: Engine, pg: PostgresServer, my: MariaDBServer) -> Any:
    return pg_connect(pg) if engine is Engine.AURORA_POSTGRESQL else my_connect(my)


def _single_update(engine: Engine, pg: PostgresServer, my: MariaDBServer) -> float:
    with _conn(engine, pg, my) as conn:
        cur = conn.cursor()
        started = time.monotonic()
        cur.execute("UPDATE messages SET recipient_id = to_phone")
        return time.monotonic() - started


def _writer_p99(engine: Engine, pg: PostgresServer, my: MariaDBServer, stop: threading.Event,
                rows: int, out: list[float]) -> None:
    with _conn(engine, pg, my) as conn:
        cur = conn.cursor()
        n = 0
        while not stop.is_set():
            n += 1
            started = time.monotonic()
            cur.execute("UPDATE messages SET to_phone = %s, recipient_id = %s WHERE id = %s",
                        ("+1777", "+1777", 1 + (n * 7919) % rows))
            out.append(time.monotonic() - started)
            time.sleep(0.002)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.99)] if ordered else 0.0


def _dsn(engine: Engine, pg: PostgresServer, my: MariaDBServer, base: Path) -> str:
    if engine is Engine.AURORA_POSTGRESQL:
        return pg.dsn.replace("dbname=postgres", "dbname=product")
    option = base / "product.cnf"
    option.write_text(my.option_file.read_text() + "database=product\n", encoding="utf-8")
    return str(option)


def measure(engine: Engine, rows: int, pg: PostgresServer, my: MariaDBServer, base: Path) -> dict[str, Any]:
    fresh_messages(engine, pg, my, rows, expanded=True)
    single = _single_update(engine, pg, my)
    fresh_messages(engine, pg, my, rows, expanded=True)
    out = io.StringIO()
    conn = connect(engine, _dsn(engine, pg, my, base))
    started = time.monotonic()
    run(conn, engine, TARGET, Options("bench"), out)
    generic = time.monotonic() - started
    conn.close()
    batches = [json.loads(line)["seconds"] for line in out.getvalue().splitlines()]

    quiet: list[float] = []
    stop = threading.Event()
    writer = threading.Thread(target=_writer_p99, args=(engine, pg, my, stop, rows, quiet))
    writer.start()
    time.sleep(3)
    stop.set()
    writer.join()
    fresh_messages(engine, pg, my, rows, expanded=True)
    loaded: list[float] = []
    stop = threading.Event()
    writer = threading.Thread(target=_writer_p99, args=(engine, pg, my, stop, rows, loaded))
    writer.start()
    conn = connect(engine, _dsn(engine, pg, my, base))
    run(conn, engine, TARGET, Options("bench-loaded"), io.StringIO())
    conn.close()
    stop.set()
    writer.join()
    return {
        "engine": engine.value, "rows": rows,
        "generic_rows_per_s": round(rows / generic), "single_update_rows_per_s": round(rows / single),
        "ratio": round(single / generic, 3), "batches": len(batches), "slowest_batch_s": max(batches),
        "writer_p99_ms_quiet": round(_p99(quiet) * 1000, 2), "writer_p99_ms_backfill": round(_p99(loaded) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
