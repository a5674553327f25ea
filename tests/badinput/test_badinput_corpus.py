"""Every case of the bad-input corpus (`cases/*.yaml`): the exact lines or the usage error, and nothing else.

In-process through the Typer app (fast); cases marked `subprocess` (alias bombs, huge files, deep
nesting) run `python -m fleet` with a memory and CPU limit, so a regression hangs nothing.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli import app
from fleet.options import REPO_ROOT
from model.errors import InputErrors
from tests.badinput.corpus import Case, apply_edits, copy_fleet, expand, load_cases

CASES = load_cases()
IN_PROCESS = [c for c in CASES if not c.subprocess]
SUBPROCESS = [c for c in CASES if c.subprocess]
SECONDS = 5.0  # in-process budget per case
MEMORY = 1024 * 1024 * 1024  # address space of a subprocess case


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY * 3, MEMORY * 3))  # Python + boto3 + pulumi's imports
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


def _snapshot(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_the_corpus_is_large_and_covers_every_input_kind() -> None:
    assert len(CASES) >= 120
    assert len({(c.kind, c.name) for c in CASES}) == len(CASES)
    kinds = {c.kind for c in CASES}
    assert {"cells", "defaults", "policy", "routes", "migrations", "files", "cli"} <= kinds


def _prepare(case: Case, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    root = copy_fleet(tmp_path / "fleet")
    apply_edits(root, case.edit)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return root, cwd, [expand(a, root) for a in case.args]


def _check_outcome(case: Case, code: int, err: str, root: Path) -> None:
    assert "Traceback" not in err
    assert code == case.exit, err
    if case.exit == 1:
        assert err.splitlines() == [expand(e, root) for e in case.errors]
    else:
        assert case.usage is not None
        assert "Usage:" in err and case.usage in err, err


@pytest.mark.parametrize("case", IN_PROCESS, ids=lambda c: f"{c.kind}-{c.name}")
def test_bad_input_in_process(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cwd, args = _prepare(case, tmp_path)
    monkeypatch.chdir(cwd)
    before = _snapshot(cwd)
    started = time.monotonic()
    result = CliRunner().invoke(app, args, prog_name="fleet")
    elapsed = time.monotonic() - started
    if isinstance(result.exception, InputErrors):
        code, err = 1, "".join(f"{e}\n" for e in result.exception.errors)
    else:
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        code, err = result.exit_code, result.stderr
    _check_outcome(case, code, err, root)
    assert elapsed < SECONDS
    assert _snapshot(cwd) == before  # nothing written where the command ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "fleet"]


@pytest.mark.parametrize("case", SUBPROCESS, ids=lambda c: f"{c.kind}-{c.name}")
def test_bad_input_in_a_limited_process(case: Case, tmp_path: Path) -> None:
    root, cwd, args = _prepare(case, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-m", "fleet", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, preexec_fn=_limits, check=False)
    _check_outcome(case, done.returncode, done.stderr, root)
    assert done.stdout == ""
    assert _snapshot(cwd) == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "fleet"]
