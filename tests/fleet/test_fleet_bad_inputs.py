"""Every folder under tests/fleet/bad/ is a tiny fleet with one kind of mistake.

`expected.txt` holds the exact lines `python -m fleet check --root <case>` must print:
`path:line: field: message`, exit 1, no traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.cli import main

BAD = Path(__file__).parent / "bad"
CASES = sorted(p.name for p in BAD.iterdir() if p.is_dir())
LINE = re.compile(r"^cells[^:]*:[1-9][0-9]*: [^ :][^:]*: \S.*$")
# These also run as a real subprocess, to prove the installed entry point prints no traceback.
SUBPROCESS_CASES = ["unparsable-yaml", "empty-file", "duplicate-id", "defaults-bad-value", "no-canary"]


def expected_lines(case: str) -> list[str]:
    return (BAD / case / "expected.txt").read_text(encoding="utf-8").splitlines()


def test_enough_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES)
def test_bad_input_reported_in_process(case: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["fleet", "check", "--root", str(BAD / case)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    assert exit_info.value.code == 1
    assert "Traceback" not in captured.err
    assert captured.err.splitlines() == expected_lines(case)
    assert all(LINE.match(line) for line in captured.err.splitlines())


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_reported_by_cli_process(case: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fleet", "check", "--root", str(BAD / case)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == expected_lines(case)
    assert result.stdout == ""
