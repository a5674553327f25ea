"""Argo CD objects of the fleet: an Application per cell, an AppProject per tier, the ApplicationSet.

One shape (`_application`) serves both the standalone Applications and the ApplicationSet's
template, so the two ways of running the fleet on Argo CD cannot drift apart. The RollingSync
steps come from the one wave planner (`pipelines.waves.Plan`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitops.labels import (
    CELL_LABEL,
    MIXED_RELEASES,
    RELEASE_LABEL,
    TIER_LABEL,
    WAVE_LABEL,
    cell_release,
    info_name,
)
from gitops.settings import GitOpsSettings
from model.cells import Cell, Fleet, Tier
from model.contract import ARGOCD_APP_PREFIX, argocd_application, release_revision
from modules.cell.workloads import NAMESPACE, workload_manifests
from pipelines.waves import Plan, Wave

API_VERSION = "argoproj.io/v1alpha1"
APPLICATION_SET = "cellfleet-cells"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
# Server-side apply as the Cell component's provider does; refuse objects another Application owns.
SYNC_OPTIONS = ("ServerSideApply=true", "FailOnSharedResource=true", "PrunePropagationPolicy=foreground")
Document = dict[str, Any]


def project_name(tier: Tier) -> str:
    return f"cellfleet-{tier.value}"


def _application(
    *,
    name: str,
    labels: Mapping[str, str],
    project: str,
    path: str,
    revision: str,
    cluster: str,
    info: Sequence[tuple[str, str]],
    settings: GitOpsSettings,
) -> dict[str, Any]:
    """metadata + spec of a cell's Application (values may be ApplicationSet template expressions)."""
    return {
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": dict(labels),
            "finalizers": [RESOURCES_FINALIZER],
        },
        "spec": {
            "project": project,
            "source": {"repoURL": settings.repo_url, "path": path, "targetRevision": revision},
            "destination": {"name": cluster, "namespace": NAMESPACE},
            "info": [{"name": key, "value": value} for key, value in info],
            "syncPolicy": {"syncOptions": list(SYNC_OPTIONS)},
        },
    }


def _values(cell: Cell, wave: Wave, settings: GitOpsSettings) -> dict[str, Any]:
    release = cell_release(cell)
    return {
        "cell": cell.id,
        "tier": cell.tier.value,
        "wave": wave.name,
        "release": release or MIXED_RELEASES,
        "project": project_name(cell.tier),
        "revision": release_revision(release) if release else settings.default_revision,
        "releases": {p.value: s.release for p, s in sorted(cell.services.items())},
    }


def _labels(values: Mapping[str, str]) -> dict[str, str]:
    return {CELL_LABEL: values["cell"], TIER_LABEL: values["tier"], WAVE_LABEL: values["wave"],
            RELEASE_LABEL: values["release"]}


def cell_application(cell: Cell, plan: Plan, settings: GitOpsSettings) -> Document:
    """The cell's Application `cell-<id>`: its folder of the tree, its cluster, labels and spec.info.

    Standalone Applications sync automatically and heal drift (the repository is the truth);
    the Argo CD deployer moves `targetRevision` to a release's tag during a pipeline rollout.
    """
    values = _values(cell, plan.wave_of(cell.id), settings)
    body = _application(
        name=argocd_application(cell.id),
        labels=_labels(values),
        project=values["project"],
        path=settings.cell_path(cell.id),
        revision=values["revision"],
        cluster=argocd_application(cell.id),
        info=[(info_name(p), r) for p, r in values["releases"].items()],
        settings=settings,
    )
    body["spec"]["syncPolicy"]["automated"] = {"prune": True, "selfHeal": True}
    return {"apiVersion": API_VERSION, "kind": "Application", **body}


def _kinds(cells: Iterable[Cell]) -> tuple[list[Document], list[Document]]:
    """(cluster-scoped, namespaced) group/kind pairs of every workload object of `cells`."""
    cluster: set[tuple[str, str]] = set()
    namespaced: set[tuple[str, str]] = set()
    for cell in cells:
        for manifest in workload_manifests(cell):
            group = manifest["apiVersion"].rpartition("/")[0]
            target = namespaced if "namespace" in manifest["metadata"] else cluster
            target.add((group, manifest["kind"]))
    return ([{"group": g, "kind": k} for g, k in sorted(cluster)],
            [{"group": g, "kind": k} for g, k in sorted(namespaced)])


def app_project(tier: Tier, cells: Sequence[Cell], settings: GitOpsSettings) -> Document:
    """The tier's AppProject: only this repository, only the tier's clusters, only the kinds a cell runs."""
    cluster_kinds, namespaced_kinds = _kinds(cells)
    return {
        "apiVersion": API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": project_name(tier), "namespace": settings.namespace, "labels": {TIER_LABEL: tier.value}},
        "spec": {
            "description": f"cellfleet {tier.value} cells: the product workloads of each cell, nothing else",
            "sourceRepos": [settings.repo_url],
            "destinations": [{"name": argocd_application(c.id), "namespace": NAMESPACE} for c in cells],
            "clusterResourceWhitelist": cluster_kinds,
            "namespaceResourceWhitelist": namespaced_kinds,
            "orphanedResources": {"warn": True},
        },
    }


def rolling_sync_steps(plan: Plan) -> list[Document]:
    """One step per wave, in wave order: `maxUpdate: 0` where the wave needs approval (a person
    syncs), 1 for one-at-a-time waves, else the wave's concurrency."""
    steps = []
    for wave in plan.waves:
        policy = wave.policy
        max_update = 0 if policy.approval else 1 if policy.one_at_a_time else policy.concurrency
        steps.append({
            "matchExpressions": [{"key": WAVE_LABEL, "operator": "In", "values": [wave.name]}],
            "maxUpdate": max_update,
        })
    return steps


def _template(products: Sequence[str], settings: GitOpsSettings) -> Document:
    body = _application(
        name=f"{ARGOCD_APP_PREFIX}{{{{.cell}}}}",
        labels={CELL_LABEL: "{{.cell}}", TIER_LABEL: "{{.tier}}", WAVE_LABEL: "{{.wave}}", RELEASE_LABEL: "{{.release}}"},
        project="{{.project}}",
        path=settings.cell_path("{{.cell}}"),
        revision="{{.revision}}",
        cluster=f"{ARGOCD_APP_PREFIX}{{{{.cell}}}}",
        info=[(info_name(p), f"{{{{.releases.{p}}}}}") for p in products],
        settings=settings,
    )
    del body["metadata"]["namespace"]  # generated Applications live in the ApplicationSet's namespace
    return body


def application_set(fleet: Fleet, plan: Plan, settings: GitOpsSettings) -> Document:
    """Every cell from one list generator, rolled out by RollingSync in the planner's waves.

    RollingSync only waits for each step's Applications to be Healthy: no bake time, no metric
    analysis, no rollback; that is why the Step Functions pipeline stays the default orchestrator.
    """
    products = sorted({p.value for cell in fleet.cells for p in cell.services})
    elements = [_values(fleet.cell(cid), plan.wave_of(cid), settings) for cid in plan.cell_order]
    return {
        "apiVersion": API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": APPLICATION_SET, "namespace": settings.namespace},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "strategy": {"type": "RollingSync", "rollingSync": {"steps": rolling_sync_steps(plan)}},
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": _template(products, settings),
        },
    }
