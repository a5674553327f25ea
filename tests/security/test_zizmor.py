"""zizmor (PyPI, its own tool env) on .github/workflows: no medium or high finding, offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.security.conftest import BAD_WORKFLOW, WORKFLOWS
from tests.support.tools import tool_command

BLOCKING = {"Medium", "High"}


def zizmor(*targets: Path) -> list[dict[str, Any]]:
    command = [str(tool_command("zizmor")), "--offline", "--format", "json", "--no-exit-codes", *map(str, targets)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    return findings


def test_workflows_have_no_medium_or_high_finding() -> None:
    findings = zizmor(WORKFLOWS)
    blocking = [(f["ident"], f["determinations"]["severity"]) for f in findings if f["determinations"]["severity"] in BLOCKING]
    assert blocking == []


def test_zizmor_reports_an_unpinned_over_permitted_workflow(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        BAD_WORKFLOW + "      - run: echo ${{ github.event.head_commit.message }}\n", encoding="utf-8"
    )
    idents = {f["ident"] for f in zizmor(workflow) if f["determinations"]["severity"] in BLOCKING}
    assert {"unpinned-uses", "artipacked", "template-injection"} <= idents
