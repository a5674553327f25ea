"""Rendered manifests per cell: the Cell component's workloads, one object per file, plus a kustomization.

The objects come from `modules.cell.workloads.workload_manifests`, the one definition the
Cell component applies in Pulumi mode; nothing here re-derives what runs in a cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitops.settings import GitOpsSettings
from gitops.yamltext import dump
from model.cells import Cell
from modules.cell.workloads import workload_manifests

KUSTOMIZATION = "kustomization.yaml"


def object_file(manifest: Mapping[str, Any]) -> str:
    """The file name of one object: `<kind>-<name>.yaml` (names are unique per kind in a cell)."""
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


def kustomization(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The cell folder's kustomization: every object file, in the Cell component's order."""
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [object_file(m) for m in manifests],
    }


def cell_manifest_files(cell: Cell, settings: GitOpsSettings) -> dict[str, str]:
    """Path from the repository root -> YAML text, for one cell's folder of the GitOps tree."""
    manifests = workload_manifests(cell)
    folder = settings.cell_path(cell.id)
    files = {f"{folder}/{object_file(m)}": dump(m) for m in manifests}
    if len(files) != len(manifests):
        raise ValueError(f"cell {cell.id}: two workload objects share a kind and name")
    files[f"{folder}/{KUSTOMIZATION}"] = dump(kustomization(manifests))
    return files
