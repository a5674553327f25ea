"""Where the GitOps tree lives and where Argo CD runs: the settings every renderer here shares."""

from __future__ import annotations

from dataclasses import dataclass

from model.contract import ARGOCD_NAMESPACE

CELLS_TREE = "gitops/cells"  # rendered manifests, one folder per cell, at the repository's root
APPLICATIONS_TREE = "argocd"  # Applications, AppProjects and the ApplicationSet
DEFAULT_REPO_URL = "https://git.example.com/platform/cellfleet.git"


@dataclass(frozen=True)
class GitOpsSettings:
    """The repository Argo CD pulls from, the folder of the cells' manifests, Argo CD's namespace."""

    repo_url: str = DEFAULT_REPO_URL
    cells_path: str = CELLS_TREE
    namespace: str = ARGOCD_NAMESPACE
    default_revision: str = "HEAD"  # for a cell whose services run different releases (no one release tag)

    def cell_path(self, cell_id: str) -> str:
        return f"{self.cells_path}/{cell_id}"
