"""The Argo CD objects: strict CRD schemas, @kubernetes-models/argo-cd, RollingSync steps from the
wave planner (sample fleet and 300 synthetic cells), the ApplicationSet agreeing with the Applications,
and golden files."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.applications import app_project, application_set, cell_application, rolling_sync_steps
from gitops.labels import CELL_LABEL, RELEASE_LABEL, TIER_LABEL, WAVE_LABEL
from gitops.settings import GitOpsSettings
from gitops.tree import APPLICATION_SET_PATH, application_path
from model.cells import Fleet, Tier
from pipelines.waves import Plan
from tests.gitops.crd import problems
from tests.support.golden import assert_golden
from tests.support.synthetic import synthetic_fleet, synthetic_plan
from tests.support.tools import system_command

REPO = Path(__file__).resolve().parents[2]
NODE_CHECK = Path(__file__).with_name("argocd_models.mjs")
GOLDEN_CELLS = ("canary-us-internal", "enterprise-us-hipaa")


def argocd_objects(tree: dict[str, str]) -> list[dict[str, Any]]:
    return [yaml.load(text, Loader=yaml.CSafeLoader) for path, text in sorted(tree.items()) if path.startswith("argocd/")]


def objects_of(fleet: Fleet, plan: Plan) -> list[dict[str, Any]]:
    """The Argo CD objects alone (without rendering every cell's manifests)."""
    settings = GitOpsSettings()
    return [*(cell_application(c, plan, settings) for c in fleet.cells),
            *(app_project(t, fleet.by_tier(t), settings) for t in Tier if fleet.by_tier(t)),
            application_set(fleet, plan, settings)]


@pytest.fixture(scope="module")
def synthetic() -> tuple[Fleet, Plan]:
    fleet = synthetic_fleet(300)
    return fleet, synthetic_plan(fleet)


def test_every_object_validates_against_the_strict_crds(sample_tree: dict[str, str], synthetic: tuple[Fleet, Plan]) -> None:
    objects = argocd_objects(sample_tree) + objects_of(*synthetic)
    assert {o["kind"] for o in objects} == {"Application", "AppProject", "ApplicationSet"}
    assert len(objects) == 14 + 1 + 3 + 300 + 1 + 3
    found = {f"{o['kind']}/{o['metadata']['name']}": problems(o) for o in objects}
    assert {name: found[name] for name in found if found[name]} == {}


@pytest.mark.parametrize(("kind", "path", "value"), [
    ("Application", ("spec", "source", "targetRevison"), "HEAD"),  # a typo must not pass silently
    ("Application", ("spec", "bogus"), 1),
    ("AppProject", ("spec", "destinations", 0, "cluster"), "x"),
    ("ApplicationSet", ("spec", "strategy", "rollingSync", "steps", 0, "maxUpdates"), 1),
    ("ApplicationSet", ("spec", "template", "spec", "source", "chart2"), "x"),
])
def test_the_strict_check_refuses_unknown_fields(sample_tree: dict[str, str], kind: str, path: tuple[Any, ...],
                                                 value: Any) -> None:
    document = copy.deepcopy(next(o for o in argocd_objects(sample_tree) if o["kind"] == kind))
    assert problems(document) == []
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any("Additional properties are not allowed" in p for p in problems(document))


def _node_check(objects: list[dict[str, Any]], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    data = tmp_path / "objects.json"
    data.write_text(json.dumps(objects), encoding="utf-8")
    return subprocess.run([system_command("node"), str(NODE_CHECK), str(data)], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=False)


def test_kubernetes_models_accept_every_object(sample_tree: dict[str, str], tmp_path: Path) -> None:
    objects = argocd_objects(sample_tree)
    result = _node_check(objects, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"checked {len(objects)} objects, 0 problems" in result.stdout


def test_kubernetes_models_refuse_a_broken_object(sample_tree: dict[str, str], tmp_path: Path) -> None:
    application = copy.deepcopy(next(o for o in argocd_objects(sample_tree) if o["kind"] == "Application"))
    application["spec"]["destination"] = "cell-smb-us-1"
    del application["spec"]["source"]["repoURL"]
    result = _node_check([application], tmp_path)
    assert result.returncode == 1
    assert "0 problems" not in result.stdout


def _matches(step: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(
        (labels.get(e["key"]) in e["values"]) == (e["operator"] == "In") for e in step["matchExpressions"]
    )


@pytest.mark.parametrize("fleet_name", ["sample", "synthetic-300"])
def test_rolling_sync_puts_every_cell_in_exactly_one_step_in_wave_order(
    fleet_name: str, sample_inputs: Any, synthetic: tuple[Fleet, Plan]
) -> None:
    fleet, plan = (sample_inputs.fleet, sample_inputs.plan) if fleet_name == "sample" else synthetic
    settings = GitOpsSettings()
    steps = application_set(fleet, plan, settings)["spec"]["strategy"]["rollingSync"]["steps"]
    assert steps == rolling_sync_steps(plan)
    assert len(steps) == len(plan.waves)
    step_of: dict[str, int] = {}
    for cell in fleet.cells:
        labels = cell_application(cell, plan, settings)["metadata"]["labels"]
        matching = [i for i, step in enumerate(steps) if _matches(step, labels)]
        assert len(matching) == 1, (cell.id, matching)
        step_of[cell.id] = matching[0]
    assert set(step_of) == set(fleet.ids)
    for wave in plan.waves:
        assert {step_of[c] for c in wave.cells} == {wave.index}  # step i is wave i: the planner's order
        expected = 0 if wave.policy.approval else 1 if wave.policy.one_at_a_time else wave.policy.concurrency
        assert steps[wave.index]["maxUpdate"] == expected
    if fleet_name == "synthetic-300":
        assert len(fleet.cells) == 300
    enterprise = [w for w in plan.waves if any(fleet.cell(c).tier is Tier.ENTERPRISE for c in w.cells)]
    assert enterprise and all(steps[w.index]["maxUpdate"] == 0 for w in enterprise if w.policy.approval)


def test_rolling_sync_rules_follow_the_wave_policy(sample_plan: Plan) -> None:
    waves = list(sample_plan.waves)
    updates: list[dict[str, Any]] = [{"one_at_a_time": True}, {"approval": True, "one_at_a_time": True},
                                     {"max_concurrency": 3}, {"approval": False, "one_at_a_time": False}]
    changed = [w.__class__(w.index, w.name, w.cells, w.policy.model_copy(update=update))
               for w, update in zip(waves, updates, strict=False)]
    plan = Plan(waves=tuple(changed), policy=sample_plan.policy)
    assert [s["maxUpdate"] for s in rolling_sync_steps(plan)] == [1, 0, 3, changed[3].policy.max_concurrency]


_EXPRESSION = re.compile(r"\{\{\.([a-z]+)(?:\.([a-z]+))?\}\}")


def _render(template: Any, element: dict[str, Any]) -> Any:
    """Go-template `{{.key}}` / `{{.map.key}}` substitution, the only forms the template uses."""
    if isinstance(template, dict):
        return {k: _render(v, element) for k, v in template.items()}
    if isinstance(template, list):
        return [_render(v, element) for v in template]
    if isinstance(template, str):
        def value(match: re.Match[str]) -> str:
            found = element[match.group(1)]
            return str(found[match.group(2)] if match.group(2) else found)
        return _EXPRESSION.sub(value, template)
    return template


def test_the_applicationset_generates_the_standalone_applications(sample_inputs: Any,
                                                                  synthetic: tuple[Fleet, Plan]) -> None:
    for fleet, plan in ((sample_inputs.fleet, sample_inputs.plan), synthetic):
        settings = GitOpsSettings()
        appset = application_set(fleet, plan, settings)
        (generator,) = appset["spec"]["generators"]
        elements = generator["list"]["elements"]
        assert [e["cell"] for e in elements] == list(plan.cell_order)
        for element in elements:
            generated = _render(appset["spec"]["template"], element)
            standalone = cell_application(fleet.cell(element["cell"]), plan, settings)
            # RollingSync disables automated sync on the Applications it drives, so the template has none.
            del standalone["spec"]["syncPolicy"]["automated"]
            del standalone["metadata"]["namespace"]
            assert {"metadata": generated["metadata"], "spec": generated["spec"]} == {
                "metadata": standalone["metadata"], "spec": standalone["spec"]}


def test_labels_and_info_say_which_cell_runs_which_release(sample_inputs: Any) -> None:
    fleet, plan = sample_inputs.fleet, sample_inputs.plan
    cell = fleet.cells[0]
    mixed = cell.model_copy(update={"services": {**cell.services, next(iter(cell.services)):
                                                 next(iter(cell.services.values())).model_copy(update={"release": "9.9.9"})}})
    for subject, release, revision in ((cell, "2.4.0", "release-2.4.0"), (mixed, "mixed", "HEAD")):
        app = cell_application(subject, plan, GitOpsSettings())
        labels = app["metadata"]["labels"]
        assert labels == {CELL_LABEL: subject.id, TIER_LABEL: subject.tier.value,
                          WAVE_LABEL: plan.wave_of(subject.id).name, RELEASE_LABEL: release}
        assert app["spec"]["source"]["targetRevision"] == revision
        assert {i["name"]: i["value"] for i in app["spec"]["info"]} == {
            f"{p.value} release": s.release for p, s in subject.services.items()}
        assert app["spec"]["destination"]["name"] == app["metadata"]["name"] == f"cell-{subject.id}"


def test_projects_restrict_each_tier_to_its_clusters_and_the_workload_kinds(sample_tree: dict[str, str],
                                                                            sample_inputs: Any) -> None:
    projects = {o["metadata"]["name"]: o for o in argocd_objects(sample_tree) if o["kind"] == "AppProject"}
    assert set(projects) == {f"cellfleet-{t.value}" for t in Tier}
    for tier in Tier:
        spec = projects[f"cellfleet-{tier.value}"]["spec"]
        assert [d["name"] for d in spec["destinations"]] == [f"cell-{c.id}" for c in sample_inputs.fleet.by_tier(tier)]
        assert spec["sourceRepos"] == [GitOpsSettings().repo_url]
        assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
        assert "*" not in json.dumps(spec["namespaceResourceWhitelist"])
    for path, text in sample_tree.items():
        if path.startswith("argocd/applications/"):
            app = yaml.safe_load(text)
            project = projects[app["spec"]["project"]]["spec"]
            assert {"name": app["spec"]["destination"]["name"], "namespace": "product"} in project["destinations"]


def test_golden_applications_and_applicationset(sample_tree: dict[str, str]) -> None:
    for cell_id in GOLDEN_CELLS:
        assert_golden(f"gitops/{application_path(cell_id)}", sample_tree[application_path(cell_id)])
    assert_golden(f"gitops/{APPLICATION_SET_PATH}", sample_tree[APPLICATION_SET_PATH])
