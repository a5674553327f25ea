"""The layout's promises: renderers are pure, the build is deterministic, the regions list is current."""

from __future__ import annotations

import builtins
import datetime as dt
import io
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import botocore.session
import pytest

from fleet.build import render_documents
from fleet.inputs import FleetInputs, load_inputs
from fleet.options import REPO_ROOT
from landing_zone.gateway import render_all
from landing_zone.lifecycle import compile_edge
from landing_zone.timeline import render_timeline, timeline_rows
from migrations.orchestrator import definition
from migrations.progress import render_text, status_view
from migrations.runbook import render_runbook
from migrations.state import MigrationState
from model.cells import AWS_REGIONS
from pipelines.inputs import rollout_input
from pipelines.render import pipeline_files, plan_table
from pipelines.targets import Targets
from statuspage.assemble import fleet_status
from statuspage.render import status_files

AT = date(2026, 6, 1)


class _Forbidden(AssertionError):
    pass


CAPABILITIES = ("model", "modules", "pipelines", "landing_zone", "migrations", "statuspage", "activation", "gitops",
                "observability")
PRODUCT = tuple(str(REPO_ROOT / name) + os.sep for name in CAPABILITIES)


def _ours(depth: int = 2) -> bool:
    """Whether the code calling the guarded function is a module of the model or a capability."""
    return sys._getframe(depth).f_code.co_filename.startswith(PRODUCT)


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise _Forbidden("a renderer touched a file, the clock or the environment")


def _guard(original: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _ours():
            _refuse()
        return original(*args, **kwargs)

    return guarded


class _FrozenClock(dt.datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        _refuse()

    @classmethod
    def utcnow(cls) -> Any:
        _refuse()

    @classmethod
    def today(cls) -> Any:
        _refuse()


class _FrozenDate(dt.date):
    @classmethod
    def today(cls) -> Any:
        _refuse()


class _GuardedEnviron(dict[str, str]):
    """os.environ that refuses reads from our product modules and passes the rest through."""

    def __getitem__(self, key: str) -> str:
        if _ours():
            _refuse()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if _ours():
            _refuse()
        return super().get(key, default)


@contextmanager
def no_io() -> Iterator[None]:
    """Inside the block, any file access, clock or environment read from our product modules raises."""
    with pytest.MonkeyPatch.context() as patch:
        for target, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "getenv"), (os, "stat"),
                             (os, "listdir"), (os, "scandir")):
            patch.setattr(target, name, _guard(getattr(target, name)))
        for name in ("read_text", "read_bytes", "open", "write_text", "exists", "is_file", "iterdir", "stat"):
            patch.setattr(pathlib.Path, name, _guard(getattr(pathlib.Path, name)))
        patch.setattr(os, "environ", _GuardedEnviron(os.environ))
        for module in list(sys.modules.values()):
            if str(getattr(module, "__file__", None)).startswith(PRODUCT):
                for name, frozen in (("datetime", _FrozenClock), ("date", _FrozenDate)):
                    if getattr(module, name, None) in (dt.datetime, dt.date):
                        patch.setattr(module, name, frozen)
        yield


@pytest.fixture(scope="module")
def inputs() -> FleetInputs:
    return load_inputs(REPO_ROOT)


def test_every_renderer_runs_without_files_clock_or_environment(inputs: FleetInputs) -> None:
    with no_io():
        _render_everything(inputs)


def _render_everything(inputs: FleetInputs) -> None:
    rendered = render_documents(inputs, AT)
    assert any(p.startswith("gateway/") for p in rendered.files)
    edge = compile_edge(inputs.routes, AT)
    assert render_all(edge)
    assert render_timeline(timeline_rows(inputs.routes, AT), AT)
    assert pipeline_files(inputs.plan, Targets(region="eu-west-1", account="123456789012"))
    assert plan_table(inputs.plan)
    assert rollout_input(inputs.plan, "2.5.0", {"bake_seconds": 0})
    for migration in inputs.migrations:
        assert render_runbook(migration, cell=migration.cells[0])
        assert definition(migration)
        assert render_text(status_view(migration, MigrationState(migration.id)))
    states = tuple((m, MigrationState(m.id)) for m in inputs.migrations)
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert status_files(fleet_status(inputs.fleet, inputs.plan, at, migrations=states))["index.html"]


def test_the_guard_itself_catches_a_read() -> None:
    """Code run as a module of the model is caught; the tests' own reads pass."""
    from model import contract

    def as_model_code(source: str) -> None:
        exec(compile(source, str(contract.__file__), "exec"), {})

    with no_io(), pytest.raises(_Forbidden):
        as_model_code("open('Pulumi.yaml')")
    with no_io(), pytest.raises(_Forbidden):
        as_model_code("import os\nos.environ.get('HOME')")
    with no_io(), pytest.raises(_Forbidden):
        as_model_code("import pathlib\npathlib.Path('cells').iterdir()")
    with no_io():
        assert (REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8")


def _build(out: Path) -> None:
    subprocess.run([sys.executable, "-m", "fleet", "build", "--at", AT.isoformat(), "--out", str(out), "--root",
                    str(REPO_ROOT)], check=True, capture_output=True, cwd=REPO_ROOT, timeout=300)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_build_twice_for_the_same_day_gives_identical_trees_and_no_stale_files(tmp_path: Path) -> None:
    stale = tmp_path / "a" / "cells" / "removed-cell.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}", encoding="utf-8")
    (tmp_path / "a" / "notes.txt").write_text("mine", encoding="utf-8")
    _build(tmp_path / "a")
    _build(tmp_path / "b")
    assert not stale.exists()  # a removed cell's inventory goes
    (tmp_path / "a" / "notes.txt").unlink()  # only the folders a build writes are cleaned
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert first == second
    assert b'"at": "2026-06-01"' in first["build.json"]
    assert len([p for p in first if p.startswith("cells/")]) == 14


def test_region_list_matches_botocore() -> None:
    assert frozenset(botocore.session.get_session().get_available_regions("ec2")) == AWS_REGIONS
