"""Activation plans checked against the fleet: every scope names real cells and only widens."""

from __future__ import annotations

from dataclasses import dataclass

from model.cells import Fleet
from model.errors import InputError, InputErrors
from model.flags import FlagPlan, Scope
from model.yamldoc import Document


@dataclass(frozen=True)
class PlannedFlag:
    """A plan, where it came from (for messages), and the cells each stage's scope selects."""

    plan: FlagPlan
    shown: str
    line: int  # of `flag.key`
    stage_lines: tuple[int, ...]
    flag_cells: tuple[str, ...]
    stage_cells: tuple[tuple[str, ...], ...]

    @property
    def key(self) -> str:
        return self.plan.key


def scope_cells(scope: Scope, fleet: Fleet) -> tuple[str, ...]:
    """Cell ids a scope selects, in fleet order (the whole fleet when the scope is empty)."""
    if scope.everywhere:
        return fleet.ids
    return tuple(c.id for c in fleet.cells if c.tier in scope.tiers or c.id in scope.cells)


def plan_flag(plan: FlagPlan, doc: Document, fleet: Fleet) -> PlannedFlag:
    """Resolve the plan's scopes on the fleet; InputErrors for unknown cells, empty or narrowing scopes."""
    errors: list[InputError] = []
    errors.extend(_scope_errors(plan.scope, doc, ("flag", "scope"), fleet))
    flag_cells = scope_cells(plan.scope, fleet)
    stage_cells: list[tuple[str, ...]] = []
    for i, stage in enumerate(plan.stages):
        at = ("flag", "stages", i, "scope")
        if stage.scope is not None:
            errors.extend(_scope_errors(stage.scope, doc, at, fleet))
        cells = scope_cells(plan.stage_scope(stage), fleet)
        outside = [c for c in cells if c not in flag_cells]
        if outside:
            errors.append(doc.error(at, f"cells outside the flag's scope ({plan.scope.label()}): {', '.join(outside)}"))
        if stage_cells:
            dropped = [c for c in stage_cells[-1] if c not in cells]
            if dropped:
                errors.append(doc.error(at, f"drops cells of the previous stage (scopes only widen): {', '.join(dropped)}"))
        stage_cells.append(cells)
    if errors:
        raise InputErrors(errors)
    return PlannedFlag(
        plan=plan,
        shown=doc.shown,
        line=doc.line_of(("flag", "key")),
        stage_lines=tuple(doc.line_of(("flag", "stages", i)) for i in range(len(plan.stages))),
        flag_cells=flag_cells,
        stage_cells=tuple(stage_cells),
    )


def _scope_errors(scope: Scope, doc: Document, at: tuple[str | int, ...], fleet: Fleet) -> list[InputError]:
    errors = [doc.error((*at, "cells", j), f"cell {cell!r} is being decommissioned (decommission: true)"
                        if fleet.retiring(cell) else f"unknown cell {cell!r}")
              for j, cell in enumerate(scope.cells) if cell not in fleet]
    errors.extend(doc.error((*at, "tiers", j), f"no cell of tier {tier.value}")
                  for j, tier in enumerate(scope.tiers) if not fleet.by_tier(tier))
    return errors
