"""bandit (PyPI, its own tool env) on the product packages: every medium or high finding explained.

Explained means fixed, or marked on its lines with a one-line reason: bandit's own
`# nosec B608 - reason`, or ruff's equivalent rule `# noqa: S608 - reason` (ruff's flake8-bandit
codes are bandit's numbers, and the project's lint already asks for them).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import REPO
from tests.support.tools import tool_command

PACKAGES = ("model", "modules", "pipelines", "landing_zone", "migrations", "runtime", "fleet")
BLOCKING = {"MEDIUM", "HIGH"}
# Findings marked without a reason in files another engineer owns (issue 10's router and
# migration work); each entry must still be found, so it goes the moment the reason is written.
AWAITING_OWNER: set[tuple[str, str]] = set()  # findings whose owner has not yet written the reason


def _bandit(*targets: str, cwd: Path = REPO) -> list[dict[str, Any]]:
    command = [str(tool_command("bandit")), "-r", *targets, "-f", "json", "-q"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, timeout=180)
    assert done.stdout.strip(), done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["errors"] == [], report["errors"]
    results: list[dict[str, Any]] = report["results"]
    return results


def _marker(test_id: str) -> re.Pattern[str]:
    number = test_id[1:]
    return re.compile(rf"#\s*(?:nosec\b[^#]*\bB{number}\b|noqa:[^#]*\bS{number}\b)[\s,A-Z0-9]*(?:[-—:]\s*(?P<reason>\S.*))?")


def explanation(finding: dict[str, Any], root: Path = REPO) -> str | None:
    """The reason written on the finding's lines, '' when marked without one, None when unmarked."""
    lines = (root / finding["filename"]).read_text(encoding="utf-8").splitlines()
    span = finding["line_range"] or [finding["line_number"]]
    marker = _marker(finding["test_id"])
    found = [m for m in (marker.search(lines[n - 1]) for n in range(min(span), max(span) + 1)) if m]
    if not found:
        return None
    return next((m.group("reason").strip() for m in found if m.group("reason")), "")


@pytest.fixture(scope="module")
def findings() -> list[dict[str, Any]]:
    return [f for f in _bandit(*PACKAGES) if f["issue_severity"] in BLOCKING]


def test_every_medium_or_high_finding_is_explained(findings: list[dict[str, Any]]) -> None:
    unexplained = [
        f"{f['filename']}:{f['line_number']}: {f['test_id']} {f['issue_text']}"
        for f in findings
        if not explanation(f) and (f["filename"], f["test_id"]) not in AWAITING_OWNER
    ]
    assert unexplained == []


def test_awaiting_entries_are_still_real(findings: list[dict[str, Any]]) -> None:
    pending = {(f["filename"], f["test_id"]) for f in findings if not explanation(f)}
    assert pending == AWAITING_OWNER


def test_bandit_flags_an_unexplained_shell_call(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text(
        "import subprocess\n\n\ndef run(cmd: str) -> None:\n    subprocess.run(cmd, shell=True)\n"
        "    subprocess.run(cmd, shell=True)  # nosec B602\n"
        "    subprocess.run(cmd, shell=True)  # noqa: S602 - trusted constant\n",
        encoding="utf-8",
    )
    found = [f for f in _bandit("pkg", cwd=tmp_path) if f["test_id"] == "B602"]
    # bandit hides the `nosec` line itself; of the two it reports, only the noqa line has a reason.
    assert [(f["line_number"], explanation(f, tmp_path)) for f in found] == [(5, None), (7, "trusted constant")]
