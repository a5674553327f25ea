"""The labels and info entries Argo CD shows per cell: one place, read back by `gitops.status`."""

from __future__ import annotations

from model.cells import Cell

CELL_LABEL = "cellfleet.io/cell-id"  # the same key the workloads carry (modules.cell.workloads)
TIER_LABEL = "cellfleet.io/tier"
WAVE_LABEL = "cellfleet.io/wave"
RELEASE_LABEL = "cellfleet.io/release"
MIXED_RELEASES = "mixed"  # the release label of a cell whose services run different releases
INFO_SUFFIX = " release"  # spec.info entry per service: `sms release: 2.4.0`


def cell_release(cell: Cell) -> str | None:
    """The one release every service of the cell runs, or None when they differ."""
    releases = {service.release for service in cell.services.values()}
    return releases.pop() if len(releases) == 1 else None


def info_name(product: str) -> str:
    return f"{product}{INFO_SUFFIX}"
