"""Which cell is on which release, read back from the Applications' labels and spec.info.

The same reading works on the rendered Applications (the repository) and on what the Argo CD
API returns for live ones, which carry the same labels and info.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitops.labels import CELL_LABEL, INFO_SUFFIX, RELEASE_LABEL, TIER_LABEL, WAVE_LABEL


@dataclass(frozen=True)
class CellStatus:
    cell_id: str
    application: str
    tier: str
    wave: str
    release: str
    revision: str
    services: dict[str, str]  # product -> release, from spec.info

    def as_dict(self) -> dict[str, Any]:
        return {"cell_id": self.cell_id, "application": self.application, "tier": self.tier, "wave": self.wave,
                "release": self.release, "revision": self.revision, "services": dict(self.services)}


def cell_status(application: Mapping[str, Any]) -> CellStatus:
    """One Application -> its cell's row; KeyError names a label the Application lacks."""
    metadata = application["metadata"]
    labels = metadata.get("labels") or {}
    spec = application["spec"]
    services = {
        entry["name"].removesuffix(INFO_SUFFIX): entry["value"]
        for entry in spec.get("info") or [] if entry["name"].endswith(INFO_SUFFIX)
    }
    return CellStatus(
        cell_id=labels[CELL_LABEL],
        application=metadata["name"],
        tier=labels[TIER_LABEL],
        wave=labels[WAVE_LABEL],
        release=labels[RELEASE_LABEL],
        revision=spec["source"]["targetRevision"],
        services=dict(sorted(services.items())),
    )


def fleet_status(applications: Iterable[Mapping[str, Any]]) -> list[CellStatus]:
    """Every Application's row, sorted by cell id."""
    return sorted((cell_status(a) for a in applications), key=lambda row: row.cell_id)
