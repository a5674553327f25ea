"""decommission.yml and drift.yml's orphan job do the decommission path in order (actionlint/zizmor: tests/ci, tests/security)."""

from __future__ import annotations

from typing import Any

import yaml

from fleet.options import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def _load(name: str) -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return doc


def _runs(job: dict[str, Any]) -> list[str]:
    return [step.get("run", "") for step in job["steps"]]


def test_decommission_checks_waits_for_a_person_then_destroys() -> None:
    doc = _load("decommission.yml")
    on = doc[True]  # YAML 1.1 reads the `on` key as a boolean
    assert on["workflow_dispatch"] is None  # no typed-in inputs (checkov CKV_GHA_7): the cells come from main
    assert on["push"] == {"branches": ["main"], "paths": ["cells/**"]}
    plan, destroy = doc["jobs"]["plan"], doc["jobs"]["destroy"]
    assert any("fleet decommission list" in run for run in _runs(plan))
    assert destroy["strategy"]["matrix"]["cell"] == "${{ fromJSON(needs.plan.outputs.cells) }}"
    assert destroy["env"]["CELL"] == "${{ matrix.cell }}"
    assert "environment" not in plan and plan["permissions"] == {"contents": "read"}
    assert destroy["needs"] == "plan" and destroy["environment"] == "decommission"
    assert destroy["permissions"] == {"contents": "read", "id-token": "write"}
    runs = _runs(destroy)
    order = [next(i for i, run in enumerate(runs) if needle in run) for needle in (
        "pulumi stack export", "fleet decommission check", "pulumi state unprotect", "pulumi destroy", "pulumi stack rm")]
    assert order == sorted(order)
    assert "--registry" in runs[order[1]] and "--state" in runs[order[1]]
    assert any("fleet decommission check" in run for run in _runs(plan))
    for job in doc["jobs"].values():  # the cell id reaches shells through the environment only
        assert all("${{" not in run for run in _runs(job))


def test_drift_reports_orphan_stacks() -> None:
    job = _load("drift.yml")["jobs"]["orphans"]
    runs = _runs(job)
    listing = next(i for i, run in enumerate(runs) if "pulumi stack ls --json" in run)
    report = next(i for i, run in enumerate(runs) if "fleet decommission orphans" in run)
    assert listing < report
