"""Fixtures: a scratch fleet root with the sample cells and migration; real database servers, once per session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import MariaDBServer, PostgresServer, mariadb_server, postgres_server

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "2025-01-15-recipient-id-column"


@pytest.fixture
def fleet_root(tmp_path: Path) -> Path:
    """The sample cells and the sample migration, copied so tests may change them."""
    shutil.copytree(REPO / "cells", tmp_path / "cells")
    shutil.copytree(REPO / "migrations" / SAMPLE, tmp_path / "migrations" / SAMPLE)
    return tmp_path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (initdb in a temp dir, free port, unix socket)."""
    base = Path(tempfile.mkdtemp(prefix="cellfleet-pg-"))
    try:
        with postgres_server(base) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """A real MariaDB server for the whole session (mariadb-install-db in a temp dir, own socket, free port)."""
    base = Path(tempfile.mkdtemp(prefix="cellfleet-mariadb-"))
    try:
        with mariadb_server(base) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)
