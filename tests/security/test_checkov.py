"""checkov (PyPI, its own tool env) on the cells' rendered Kubernetes manifests and the workflows."""

from __future__ import annotations

import re
from pathlib import Path

from fleet.inputs import load_fleet
from modules.cell.workloads import workload_manifests
from tests.security.conftest import REPO, SAMPLE_CELLS, WORKFLOWS, CheckovRun

SKIP = re.compile(r"^(CKV2?_[A-Z0-9]+_\d+)=(\S.*)$")


def test_cell_manifests_pass_every_kubernetes_check(checkov: CheckovRun, manifest_files: dict[str, Path]) -> None:
    for cell_id, path in manifest_files.items():
        assert checkov.passed[path] > 100, f"{cell_id}: checkov scanned too little of {path}"
        assert checkov.failed.get(path, []) == [], cell_id


def test_every_skip_is_one_check_with_a_reason(checkov: CheckovRun, manifest_files: dict[str, Path]) -> None:
    fleet = load_fleet(REPO)
    skipped_ids: set[str] = set()
    for cell_id in SAMPLE_CELLS:
        for manifest in workload_manifests(fleet.cell(cell_id)):
            for key, value in manifest["metadata"].get("annotations", {}).items():
                if key.startswith("checkov.io/skip"):
                    match = SKIP.match(value)
                    assert match, f"{cell_id} {manifest['metadata']['name']}: {value!r} has no reason"
                    skipped_ids.add(match.group(1))
    reported = {check for path in manifest_files.values() for check in checkov.skipped.get(path, [])}
    assert reported == skipped_ids  # checkov honoured exactly the annotated skips
    # The pinned cell skips nothing: its images are by digest.
    assert checkov.skipped.get(manifest_files["enterprise-us-hipaa"], []) == []


def test_workflows_pass_every_github_actions_check(checkov: CheckovRun) -> None:
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert workflows
    for workflow in workflows:
        assert checkov.passed[workflow] > 0, workflow.name
        assert checkov.failed.get(workflow, []) == [], workflow.name
        assert checkov.skipped.get(workflow, []) == [], workflow.name


def test_checkov_catches_the_known_bad_files(checkov: CheckovRun, bad_files: dict[str, Path]) -> None:
    deployment = set(checkov.failed[bad_files["deployment"]])
    assert {"CKV_K8S_16", "CKV_K8S_14", "CKV_K8S_43", "CKV_K8S_38"} <= deployment  # privileged, :latest, tag, token
    assert checkov.failed[bad_files["workflow"]], "write-all permissions not reported"
