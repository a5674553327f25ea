"""The wave planner: which cells are in which wave, in what order, and the schedule estimate.

This is the one implementation of "which cells are in wave N"; the pipeline, the
migration runbooks and the status pages all take the Plan from here.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from model.cells import Cell, Fleet, Tier
from model.errors import InputError, InputErrors
from model.policy import RolloutPolicy, WavePolicy
from model.selectors import Picked, pick
from model.yamldoc import Document


@dataclass(frozen=True)
class Wave:
    """One wave of the plan: its cells in deploy order and the policy it runs under."""

    index: int
    name: str
    cells: tuple[str, ...]
    policy: WavePolicy

    @property
    def batches(self) -> int:
        """How many deploy rounds the wave needs (one per cell when one at a time)."""
        if self.policy.one_at_a_time:
            return len(self.cells)
        return math.ceil(len(self.cells) / self.policy.concurrency)

    @property
    def bake_rounds(self) -> int:
        return len(self.cells) if self.policy.one_at_a_time else 1


@dataclass(frozen=True)
class Plan:
    waves: tuple[Wave, ...]
    policy: RolloutPolicy
    decommissioning: tuple[str, ...] = ()  # cells with `decommission: true`: in no wave
    _wave_of: dict[str, Wave] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_wave_of", {c: w for w in self.waves for c in w.cells})

    def wave_of(self, cell_id: str) -> Wave:
        return self._wave_of[cell_id]

    @property
    def cell_order(self) -> tuple[str, ...]:
        return tuple(c for w in self.waves for c in w.cells)


@dataclass(frozen=True)
class WaveSchedule:
    wave: Wave
    earliest_start: timedelta
    latest_start: timedelta
    earliest_end: timedelta
    latest_end: timedelta


def stable_rank(key: str) -> str:
    """A rank for a cell (or region) that never changes when other cells come or go."""
    return hashlib.sha256(key.encode()).hexdigest()


def spread_by_region(cells: list[Cell]) -> list[Cell]:
    """Cells ordered round-robin across regions, each region's cells in stable-rank order."""
    by_region: dict[str, list[Cell]] = defaultdict(list)
    for cell in sorted(cells, key=lambda c: stable_rank(c.id)):
        by_region[cell.region].append(cell)
    regions = sorted(by_region, key=stable_rank)
    ordered: list[Cell] = []
    depth = max((len(v) for v in by_region.values()), default=0)
    for i in range(depth):
        ordered.extend(by_region[r][i] for r in regions if i < len(by_region[r]))
    return ordered


def _select(wave: WavePolicy, fleet: Fleet, taken: dict[str, str]) -> Picked:
    """The cells of one wave, from those no earlier wave took."""
    sel = wave.select
    pool = [c for c in fleet.cells if sel.tier is None or c.tier is sel.tier]
    if sel.cells is not None:
        return _retiring_named(pick(sel.cells, [c.id for c in pool], taken, fleet.ids), sel.cells, fleet)
    remaining = [c for c in pool if c.id not in taken]
    if sel.fraction is None:
        return Picked(tuple(sorted(c.id for c in remaining)), ())
    want = math.ceil(sel.fraction * len(pool))
    return Picked(tuple(c.id for c in spread_by_region(remaining)[:want]), ())


def _retiring_named(picked: Picked, patterns: tuple[str, ...], fleet: Fleet) -> Picked:
    """A wave that names a decommissioning cell is told so (not that the cell is unknown)."""
    retiring = {c.id for c in fleet.decommissioning}
    problems = tuple((j, f"cell {patterns[j]!r} is being decommissioned (decommission: true); take it out of the wave")
                     if patterns[j] in retiring else (j, message) for j, message in picked.problems)
    return Picked(picked.cells, problems)


def plan_waves(fleet: Fleet, policy: RolloutPolicy, doc: Document) -> Plan:
    """Assign every cell to exactly one wave; InputErrors (located in the policy) otherwise."""
    errors: list[InputError] = []
    taken: dict[str, str] = {}
    waves: list[Wave] = []
    names: set[str] = set()
    for i, wave_policy in enumerate(policy.waves):
        loc: tuple[str | int, ...] = ("waves", i)
        if wave_policy.name in names:
            errors.append(doc.error((*loc, "name"), f"duplicate wave name {wave_policy.name!r}"))
        names.add(wave_policy.name)
        picked = _select(wave_policy, fleet, taken)
        errors.extend(doc.error((*loc, "select", "cells", j), message) for j, message in picked.problems)
        if not picked.cells:
            errors.append(doc.error((*loc, "select"), f"wave {wave_policy.name!r} selects no cells"))
        taken.update(dict.fromkeys(picked.cells, f"wave {wave_policy.name!r}"))
        waves.append(Wave(index=i, name=wave_policy.name, cells=picked.cells, policy=wave_policy))

    if waves and not any(fleet.cell(c).tier is Tier.CANARY for c in waves[0].cells):
        errors.append(doc.error(("waves", 0, "select"), "the first wave must deploy the canary cell(s)"))
    left = [cid for cid in fleet.ids if cid not in taken]
    if left:
        errors.append(doc.error(("waves",), f"cells in no wave: {', '.join(left)}"))
    if errors:
        raise InputErrors(errors)
    return Plan(waves=tuple(waves), policy=policy, decommissioning=tuple(c.id for c in fleet.decommissioning))


def schedule(plan: Plan) -> list[WaveSchedule]:
    """Earliest and latest start and end of each wave, from deploy estimates and bake times."""
    out: list[WaveSchedule] = []
    early = late = timedelta(0)
    deploy = plan.policy.deploy_estimate
    for wave in plan.waves:
        bake = wave.policy.bake
        end_early = early + deploy * wave.batches + bake.min * wave.bake_rounds
        end_late = late + deploy * wave.batches + bake.max * wave.bake_rounds
        out.append(WaveSchedule(wave, early, late, end_early, end_late))
        early, late = end_early, end_late
    return out
