"""Shared by the real-engine tests: a two-cell fleet (one cell per engine), its tables, running runbook lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pymysql  # type: ignore[import-untyped]

from migrations.commands import MYSQL_OPTION_FILE
from model.cells import Engine
from model.contract import CELL_DATABASE
from tests.support.servers import MariaDBServer, PostgresServer

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "2025-01-15-recipient-id-column"
PG_CELL, MY_CELL = "canary-us-internal", "smb-us-3"
CELLS = {Engine.AURORA_POSTGRESQL: PG_CELL, Engine.AURORA_MYSQL: MY_CELL}


def two_cell_root(root: Path) -> Path:
    """The sample migration on a fleet of one PostgreSQL and one MySQL cell, rollouts trimmed to them."""
    (root / "cells").mkdir(parents=True)
    for name in ("_defaults.yaml", f"{PG_CELL}.yaml", f"{MY_CELL}.yaml"):
        shutil.copy(REPO / "cells" / name, root / "cells" / name)
    shutil.copytree(REPO / "migrations" / SAMPLE, root / "migrations" / SAMPLE)
    manifest = root / "migrations" / SAMPLE / "manifest.yaml"
    text = manifest.read_text(encoding="utf-8")
    for drop in ("        - cells: [smb-us-1, smb-us-2]\n          wait: 4h\n",
                 "        - cells: [enterprise-*]\n          wait: 48h\n          requires_approval: true\n",
                 "        - cells: [enterprise-*]\n          wait: 168h             # 1 week bake time\n"
                 "          requires_approval: true\n"):
        assert drop in text
        text = text.replace(drop, "")
    manifest.write_text(text, encoding="utf-8")
    policy = (REPO / "model" / "defaults" / "rollout.yaml").read_text(encoding="utf-8")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "rollout.yaml").write_text(policy[: policy.index("  - name: smb-wave-2")], encoding="utf-8")
    return root


def pg_connect(server: PostgresServer, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    return psycopg.connect(server.dsn.replace("dbname=postgres", f"dbname={CELL_DATABASE}"), autocommit=autocommit)


def my_connect(server: MariaDBServer, *, autocommit: bool = True) -> Any:
    return pymysql.connect(**{**server.connect_args(CELL_DATABASE), "autocommit": autocommit})


def fresh_messages(engine: Engine, pg: PostgresServer, my: MariaDBServer, rows: int, *, expanded: bool = False) -> None:
    """(Re)create `product.messages` with `rows` rows of the old code (and the new column when `expanded`)."""
    extra = ", recipient_id varchar(50)" if expanded else ""
    if engine is Engine.AURORA_POSTGRESQL:
        with psycopg.connect(pg.dsn, autocommit=True) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (CELL_DATABASE,)).fetchone():
                admin.execute(f"CREATE DATABASE {CELL_DATABASE}")
        with pg_connect(pg) as conn:
            conn.execute("DROP TABLE IF EXISTS messages, fleet_migration_checkpoints")
            conn.execute(f"CREATE TABLE messages (id bigserial PRIMARY KEY, to_phone varchar(50) NOT NULL, "
                         f"body text{extra})")
            conn.execute("INSERT INTO messages (to_phone, body) SELECT '+1555' || lpad(g::text, 7, '0'), 'hi' "
                         "FROM generate_series(1, %s) g", (rows,))
        return
    with pymysql.connect(**my.connect_args()) as admin, admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {CELL_DATABASE}")
    with my_connect(my) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS messages, fleet_migration_checkpoints")
        cur.execute("CREATE TABLE messages (id BIGINT AUTO_INCREMENT PRIMARY KEY, to_phone VARCHAR(50) NOT NULL, "
                    f"body TEXT{extra.replace('varchar', 'VARCHAR')})")
        chunk = 20_000
        for start in range(0, rows, chunk):
            values = [(f"+1555{n:07d}", "hi") for n in range(start + 1, min(rows, start + chunk) + 1)]
            cur.executemany("INSERT INTO messages (to_phone, body) VALUES (%s, %s)", values)


def scalar(engine: Engine, pg: PostgresServer, my: MariaDBServer, sql: str) -> int:
    if engine is Engine.AURORA_POSTGRESQL:
        with pg_connect(pg) as conn:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return int(row[0])
    with my_connect(my) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


def shell_env(root: Path, pg: PostgresServer) -> dict[str, str]:
    """The environment a runbook line runs in: the libpq service file of the cells and our venv first on PATH."""
    services = pg.service_file(root / "pg_service.conf", [PG_CELL], CELL_DATABASE)
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "PGSERVICEFILE": str(services), "PATH": f"{venv_bin}:{os.environ['PATH']}",
            "PYTHONPATH": str(REPO), "ROOT": str(root), "PY": sys.executable}


# `python -m fleet ...` in the runbook runs our CLI on the scratch fleet root (`--root` is appended).
PYTHON_SHIM = ('python() { if [ "$1" = -m ] && [ "$2" = fleet ]; then shift 2; "$PY" -m fleet "$@" --root "$ROOT"; '
               'else "$PY" "$@"; fi; }\n')


def run_line(line: str, env: dict[str, str], my: MariaDBServer) -> subprocess.CompletedProcess[str]:
    """One runbook line through bash, the MySQL cell's option file pointed at the test server."""
    line = line.replace(MYSQL_OPTION_FILE.format(cell=MY_CELL), str(my.option_file))
    return subprocess.run(["bash", "-c", PYTHON_SHIM + line], env=env, capture_output=True, text=True,
                          check=False, timeout=300)
