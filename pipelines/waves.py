"""The wave planner: which cells are in which wave, in what order, and the schedule estimate.

This is the one implementation of "which cells are in wave N"; the pipeline, the
migration runbooks and the status pages all take the Plan from here.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from fleet.errors import InputError, InputErrors
from fleet.model import Cell, Fleet, Tier
from fleet.selectors import is_glob, resolve
from fleet.yamlio import Document
from pipelines.policy import RolloutPolicy, WavePolicy, load_policy


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
        return math.ceil(len(self.cells) / self.policy.max_concurrency)

    @property
    def bake_rounds(self) -> int:
        return len(self.cells) if self.policy.one_at_a_time else 1


@dataclass(frozen=True)
class Plan:
    waves: tuple[Wave, ...]
    policy: RolloutPolicy

    def wave_of(self, cell_id: str) -> Wave:
        for wave in self.waves:
            if cell_id in wave.cells:
                return wave
        raise KeyError(cell_id)

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


def _select(wave: WavePolicy, fleet: Fleet, taken: set[str]) -> tuple[list[str], list[str]]:
    """(cells for this wave, explicit ids that some earlier wave already took)."""
    sel = wave.select
    pool = [c for c in fleet.cells if sel.tier is None or c.tier is sel.tier]
    if sel.cells is not None:
        ids = [c.id for c in pool]
        chosen: list[str] = []
        for pattern in sel.cells:
            for cid in resolve([pattern], ids):
                if cid not in chosen:
                    chosen.append(cid)
        explicit = {p for p in sel.cells if not is_glob(p)}
        clashes = [c for c in chosen if c in taken and c in explicit]
        return [c for c in chosen if c not in taken], clashes
    remaining = [c for c in pool if c.id not in taken]
    if sel.fraction is None:
        return [c.id for c in sorted(remaining, key=lambda c: c.id)], []
    want = math.ceil(sel.fraction * len(pool))
    return [c.id for c in spread_by_region(remaining)[:want]], []


def plan_waves(fleet: Fleet, policy: RolloutPolicy, doc: Document | None = None) -> Plan:
    """Assign every cell to exactly one wave; InputErrors (located in the policy) otherwise."""
    def err(loc: tuple[str | int, ...], field: str, message: str) -> InputError:
        if doc is None:
            return InputError("pipelines/rollout.yaml", 1, field, message)
        return doc.error(loc, message, field)

    errors: list[InputError] = []
    taken: set[str] = set()
    waves: list[Wave] = []
    names: set[str] = set()
    known = set(fleet.ids)
    for i, wave_policy in enumerate(policy.waves):
        loc: tuple[str | int, ...] = ("waves", i)
        if wave_policy.name in names:
            errors.append(err((*loc, "name"), f"waves[{i}].name", f"duplicate wave name {wave_policy.name!r}"))
        names.add(wave_policy.name)
        for j, pattern in enumerate(wave_policy.select.cells or ()):
            where, field = (*loc, "select", "cells", j), f"waves[{i}].select.cells[{j}]"
            if not is_glob(pattern) and pattern not in known:
                errors.append(err(where, field, f"unknown cell {pattern!r}"))
            elif is_glob(pattern) and not resolve([pattern], known):
                errors.append(err(where, field, f"{pattern!r} matches no cell"))
        chosen, clashes = _select(wave_policy, fleet, taken)
        for cid in clashes:
            errors.append(err((*loc, "select"), f"waves[{i}].select", f"cell {cid} is already in an earlier wave"))
        if not chosen:
            errors.append(err((*loc, "select"), f"waves[{i}].select", f"wave {wave_policy.name!r} selects no cells"))
        taken.update(chosen)
        waves.append(Wave(index=i, name=wave_policy.name, cells=tuple(chosen), policy=wave_policy))

    if waves and not any(fleet.cell(c).tier is Tier.CANARY for c in waves[0].cells):
        errors.append(err(("waves", 0, "select"), "waves[0].select", "the first wave must deploy the canary cell(s)"))
    left = [cid for cid in fleet.ids if cid not in taken]
    if left:
        errors.append(err(("waves",), "waves", f"cells in no wave: {', '.join(left)}"))
    if errors:
        raise InputErrors(errors)
    return Plan(waves=tuple(waves), policy=policy)


def load_plan(fleet: Fleet, root: Path | None = None) -> Plan:
    """The fleet's plan from its policy file (or the default policy)."""
    policy, doc = load_policy(root or fleet.root)
    return plan_waves(fleet, policy, doc)


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
