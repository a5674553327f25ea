"""Scanner runs shared by the security tests: checkov runs once per session over every target.

The targets are the rendered Kubernetes manifests of every sample cell (`workload_manifests`),
the repository's workflows, and a known-bad manifest and workflow that prove the scanner looked.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fleet.inputs import load_fleet
from model.jsonio import dumps
from modules.cell.workloads import workload_manifests
from tests.support.tools import tool_command

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
SAMPLE_CELLS = tuple(load_fleet(REPO).ids)  # all of them: tag-only, MySQL, digest-pinned, every tier

BAD_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "bad", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "bad"}},
        "template": {
            "metadata": {"labels": {"app": "bad"}},
            "spec": {"containers": [{"name": "bad", "image": "nginx:latest", "securityContext": {"privileged": True}}]},
        },
    },
}
BAD_WORKFLOW = """on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-22.04
    steps:
      - uses: actions/checkout@v4
"""


@dataclass
class CheckovRun:
    """Failed and skipped check ids per scanned file (absolute path), and resources per file."""

    failed: dict[Path, list[str]] = field(default_factory=lambda: defaultdict(list))
    skipped: dict[Path, list[str]] = field(default_factory=lambda: defaultdict(list))
    passed: dict[Path, int] = field(default_factory=lambda: defaultdict(int))
    resources: dict[str, int] = field(default_factory=dict)


def _collect(reports: list[dict[str, Any]]) -> CheckovRun:
    run = CheckovRun()
    for report in reports:
        run.resources[report["check_type"]] = report["summary"]["resource_count"]
        results = report["results"]
        for check in results["failed_checks"]:
            run.failed[Path(check["file_abs_path"])].append(check["check_id"])
        for check in results["skipped_checks"]:
            run.skipped[Path(check["file_abs_path"])].append(check["check_id"])
        for check in results["passed_checks"]:
            run.passed[Path(check["file_abs_path"])] += 1
    return run


@pytest.fixture(scope="session")
def manifest_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every sample cell's manifests, one multi-document file per cell (JSON documents are YAML)."""
    folder = tmp_path_factory.mktemp("manifests")
    fleet = load_fleet(REPO)
    out = {}
    for cell_id in SAMPLE_CELLS:
        path = folder / f"{cell_id}.yaml"
        path.write_text("---\n".join(dumps(m) for m in workload_manifests(fleet.cell(cell_id))), encoding="utf-8")
        out[cell_id] = path
    return out


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    (root / "k8s").mkdir()
    deployment = root / "k8s" / "bad.yaml"
    deployment.write_text(dumps(BAD_DEPLOYMENT), encoding="utf-8")
    (root / ".github" / "workflows").mkdir(parents=True)
    workflow = root / ".github" / "workflows" / "bad.yml"
    workflow.write_text(BAD_WORKFLOW, encoding="utf-8")
    return {"deployment": deployment, "workflow": workflow}


@pytest.fixture(scope="session")
def checkov(manifest_files: dict[str, Path], bad_files: dict[str, Path]) -> CheckovRun:
    """One checkov run (Kubernetes and GitHub Actions frameworks) over all targets, offline."""
    targets = [next(iter(manifest_files.values())).parent, WORKFLOWS, *(p.parent for p in bad_files.values())]
    command = [str(tool_command("checkov")), "--framework", "kubernetes", "github_actions", "--skip-download"]
    command += ["--compact", "-o", "json"]
    for target in targets:
        command += ["-d", str(target)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300, cwd=REPO)
    assert done.stdout.strip(), done.stderr[-2000:]
    return _collect(_documents(done.stdout))


def _documents(text: str) -> list[dict[str, Any]]:
    """checkov prints one JSON document (a report or a list of them) per target directory."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        document, at = decoder.raw_decode(text, at)
        out += document if isinstance(document, list) else [document]
        while at < len(text) and text[at].isspace():
            at += 1
    return out
