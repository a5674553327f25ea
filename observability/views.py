"""The dashboard model: a global view of the fleet, one view per cell, one per service of a cell.

Built from the fleet and the wave plan only; every renderer (CloudWatch, Grafana, runbooks)
takes these views, so they all show the same cells in the same waves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from model.cells import Cell, Fleet, Product
from model.contract import GLOBAL_DASHBOARD, cell_dashboard, health_alarm
from pipelines.waves import Plan

# Up to this many cells the global view draws one line per cell; past it, it aggregates by tier and region.
PER_CELL_LIMIT = 50


@dataclass(frozen=True)
class ServiceView:
    """One product service of a cell: what it runs."""

    product: Product
    release: str
    api_versions: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.product.value}-service"


@dataclass(frozen=True)
class CellView:
    """One cell: identity, where it runs, its wave, its services, its dashboard and health alarm."""

    cell_id: str
    tier: str
    region: str
    account: str
    wave: str
    cell: Cell = field(repr=False, compare=False)

    @cached_property
    def services(self) -> tuple[ServiceView, ...]:
        """The cell's services, sorted by product (built on first use: 10,000 cells need few of them)."""
        return tuple(
            ServiceView(product=p, release=s.release, api_versions=s.api_versions)
            for p, s in sorted(self.cell.services.items(), key=lambda item: item[0].value)
        )

    @property
    def dashboard(self) -> str:
        return cell_dashboard(self.cell_id)

    @property
    def health_alarm(self) -> str:
        return health_alarm(self.cell_id)

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(sorted({s.release for s in self.cell.services.values()}))


@dataclass(frozen=True)
class WaveGroup:
    """The cells of one wave, in deploy order."""

    index: int
    name: str
    cells: tuple[CellView, ...]


@dataclass(frozen=True)
class GlobalView:
    """The fleet: cells grouped by wave, and whether per-cell lines still fit a widget."""

    dashboard: str
    waves: tuple[WaveGroup, ...]
    tiers: tuple[str, ...]
    regions: tuple[str, ...]

    @property
    def cells(self) -> tuple[CellView, ...]:
        return tuple(c for w in self.waves for c in w.cells)

    @property
    def per_cell(self) -> bool:
        return len(self.cells) <= PER_CELL_LIMIT

    def version_counts(self) -> dict[tuple[str, str], int]:
        """(wave, release) -> how many cells run that release in some service."""
        counts: Counter[tuple[str, str]] = Counter()
        for wave in self.waves:
            for cell in wave.cells:
                counts.update((wave.name, v) for v in cell.versions)
        return dict(sorted(counts.items()))


def _cell_view(cell: Cell, wave: str) -> CellView:
    return CellView(cell_id=cell.id, tier=cell.tier.value, region=cell.region, account=cell.account, wave=wave,
                    cell=cell)


def global_view(fleet: Fleet, plan: Plan) -> GlobalView:
    """Every cell of `fleet`, grouped by the waves of `plan`."""
    waves = tuple(
        WaveGroup(index=w.index, name=w.name, cells=tuple(_cell_view(fleet.cell(c), w.name) for c in w.cells))
        for w in plan.waves
    )
    return GlobalView(
        dashboard=GLOBAL_DASHBOARD,
        waves=waves,
        tiers=tuple(sorted({c.tier.value for c in fleet.cells})),
        regions=tuple(sorted({c.region for c in fleet.cells})),
    )


def cell_view(fleet: Fleet, plan: Plan, cell_id: str) -> CellView:
    """One cell's view (KeyError for a cell not in the fleet)."""
    return _cell_view(fleet.cell(cell_id), plan.wave_of(cell_id).name)
