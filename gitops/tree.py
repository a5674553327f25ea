"""The whole GitOps tree of a fleet: path -> text, for `fleet build` and the tests."""

from __future__ import annotations

from gitops.applications import app_project, application_set, cell_application
from gitops.manifests import cell_manifest_files
from gitops.settings import APPLICATIONS_TREE, GitOpsSettings
from gitops.yamltext import dump
from model.cells import Fleet, Tier
from pipelines.waves import Plan


def application_path(cell_id: str) -> str:
    return f"{APPLICATIONS_TREE}/applications/{cell_id}.yaml"


def project_path(tier: Tier) -> str:
    return f"{APPLICATIONS_TREE}/projects/{tier.value}.yaml"


APPLICATION_SET_PATH = f"{APPLICATIONS_TREE}/applicationset.yaml"


def gitops_files(fleet: Fleet, plan: Plan, settings: GitOpsSettings | None = None) -> dict[str, str]:
    """Every cell's rendered manifests, its Application, one AppProject per tier and the ApplicationSet."""
    settings = settings or GitOpsSettings()
    files: dict[str, str] = {}
    for cell in fleet.cells:
        files.update(cell_manifest_files(cell, settings))
        files[application_path(cell.id)] = dump(cell_application(cell, plan, settings))
    for tier in Tier:
        cells = fleet.by_tier(tier)
        if cells:
            files[project_path(tier)] = dump(app_project(tier, cells, settings))
    files[APPLICATION_SET_PATH] = dump(application_set(fleet, plan, settings))
    return files
