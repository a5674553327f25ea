"""The rendered manifests are what the Cell component applies in Pulumi mode (one definition), and in
GitOps mode the component applies none of them and bootstraps Argo CD's access instead (Pulumi mocks)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from fleet.build import render_documents
from fleet.inputs import FleetInputs
from fleet.mocking import Inventory, new_event_loop
from fleet.preview import preview_cell
from gitops.applications import app_project
from gitops.manifests import KUSTOMIZATION
from gitops.settings import GitOpsSettings
from gitops.tree import gitops_files
from model.cells import Cell, Tier
from model.contract import ARGOCD_CONTROLLER_ROLE_KEY, CONFIG_NAMESPACE, Delivery
from modules.cell.gitops_bootstrap import ARGOCD_GROUP, CLUSTER_SECRET_LABEL
from tests.support.synthetic import make_cell

CELLS = ("canary-us-internal", "enterprise-us-hipaa")
CONTROLLER = "arn:aws:iam::999999999999:role/argocd-application-controller"


def whole(value: Any) -> Any:
    """Pulumi carries numbers as floats; compare manifests with whole numbers as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole(v) for v in value]
    return value


def folder_objects(tree: dict[str, str], cell_id: str) -> list[dict[str, Any]]:
    """The objects of a cell's folder, in its kustomization's order."""
    folder = f"gitops/cells/{cell_id}"
    kustomization = yaml.safe_load(tree[f"{folder}/{KUSTOMIZATION}"])
    files = sorted(p for p in tree if p.startswith(f"{folder}/") and not p.endswith(KUSTOMIZATION))
    assert sorted(f"{folder}/{name}" for name in kustomization["resources"]) == files
    return [yaml.safe_load(tree[f"{folder}/{name}"]) for name in kustomization["resources"]]


def _preview(cell: Cell, config: dict[str, str] | None = None) -> Inventory:
    new_event_loop()
    return preview_cell(cell, config)


@pytest.mark.parametrize("cell_id", CELLS)
def test_rendered_manifests_equal_what_the_cell_component_applies(cell_id: str, sample_cells: dict[str, Any],
                                                                  sample_tree: dict[str, str]) -> None:
    cell = sample_cells[cell_id]
    assert cell.delivery is Delivery.PULUMI
    applied = [whole(r.inputs) for r in _preview(cell).resources
               if r.custom and r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:providers")]
    # The pod security-group policy names Pulumi's security-group ids: Pulumi applies it in both modes.
    pulumi_only = [o for o in applied if o["kind"] == "SecurityGroupPolicy"]
    applied = [o for o in applied if o["kind"] != "SecurityGroupPolicy"]
    rendered = folder_objects(sample_tree, cell_id)
    assert len(pulumi_only) == 1
    assert len(applied) == len(rendered) >= 21

    def by_key(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {(o["apiVersion"], o["kind"], o["metadata"]["name"]): o for o in objects}

    assert by_key(applied) == by_key(rendered)  # object for object
    assert applied[0] == rendered[0]  # the Namespace first, as the component registers it before the rest


def test_gitops_mode_applies_no_workload_and_bootstraps_argocd(sample_cells: dict[str, Any]) -> None:
    cell = sample_cells["smb-us-1"].model_copy(update={"delivery": Delivery.GITOPS})
    inventory = _preview(cell, {f"{CONFIG_NAMESPACE}:{ARGOCD_CONTROLLER_ROLE_KEY}": CONTROLLER})
    types = [r.type for r in inventory.resources]
    workload_types = {"kubernetes:core/v1:Namespace", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service",
                      "kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"}
    assert not workload_types & set(types)  # one owner: Argo CD
    (secret,) = inventory.of_type("kubernetes:core/v1:Secret")
    assert secret.inputs["metadata"]["name"] == "cell-smb-us-1"
    assert secret.inputs["metadata"]["namespace"] == "argocd"
    assert secret.inputs["metadata"]["labels"][CLUSTER_SECRET_LABEL] == "cluster"
    data = secret.inputs["stringData"]
    (cluster,) = inventory.of_type("aws:eks/cluster:Cluster")
    assert data["server"] == cluster.state["endpoint"]
    config = json.loads(data["config"])
    (role,) = [r for r in inventory.of_type("aws:iam/role:Role") if r.name.endswith("-argocd")]
    assert config["awsAuthConfig"] == {"clusterName": "smb-us-1", "roleARN": role.state["arn"]}
    assert "password" not in json.dumps(config) and "bearerToken" not in json.dumps(config)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"AWS": CONTROLLER}, "Action": "sts:AssumeRole"}]
    (entry,) = inventory.of_type("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["kubernetesGroups"] == [ARGOCD_GROUP]
    (cluster_role,) = inventory.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    (binding,) = inventory.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert binding.inputs["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ARGOCD_GROUP}]
    # RBAC grants exactly the kinds the tier's AppProject lets Argo CD deploy, never a wildcard.
    project = app_project(cell.tier, [cell], GitOpsSettings())["spec"]
    def plural(kind: str) -> str:  # Kubernetes' own rule for these kinds: policy -> policies
        return kind.lower()[:-1] + "ies" if kind.endswith("y") else kind.lower() + "s"

    allowed = {(k["group"], plural(k["kind"]))
               for k in project["clusterResourceWhitelist"] + project["namespaceResourceWhitelist"]}
    granted = {(g, r) for rule in cluster_role.inputs["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == allowed
    assert "*" not in json.dumps(cluster_role.inputs["rules"])


def test_a_fleet_has_one_delivery(tmp_path: Any) -> None:
    from fleet.inputs import load_fleet
    from model.errors import InputErrors

    (tmp_path / "cells").mkdir()
    for index, (tier, delivery) in enumerate([("canary", "gitops"), ("smb", "pulumi")]):
        cell = make_cell(f"{tier}-cell-{index}", Tier(tier), "us-east-1", index)
        doc = cell.model_dump(mode="json", exclude_none=True) | {"delivery": delivery}
        (tmp_path / "cells" / f"{cell.id}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        load_fleet(tmp_path)
    (error,) = caught.value.errors
    assert str(error).startswith("cells/smb-cell-1.yaml:")
    assert "delivery: 'pulumi' differs from the fleet's 'gitops'" in str(error)


def test_the_build_writes_the_tree_deterministically(sample_inputs: FleetInputs) -> None:
    from datetime import date

    first = render_documents(sample_inputs, date(2026, 6, 1)).files
    again = render_documents(sample_inputs, date(2026, 6, 1)).files
    tree = {p: t for p, t in first.items() if p.startswith(("gitops/", "argocd/"))}
    assert tree == gitops_files(sample_inputs.fleet, sample_inputs.plan)
    assert tree == {p: t for p, t in again.items() if p.startswith(("gitops/", "argocd/"))}
    assert len([p for p in tree if p.startswith("argocd/applications/")]) == len(sample_inputs.fleet.cells)
    assert len([p for p in tree if p.endswith(KUSTOMIZATION)]) == len(sample_inputs.fleet.cells)
