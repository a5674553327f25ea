"""Readiness gate for activation: a stage may turn a flag on only where its code is deployed.

Every cell a stage exposes (its scope; the flag's scope for the allowlist, from Day 1) must run
at least the plan's release of each service it names, as the cell files declare it or as the
control-plane registry records it (attribute `releases`). The published file compiles every
stage in, so it is gated on every stage; the snapshot of a day on that day's stage.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from activation.plans import PlannedFlag
from activation.schedule import active_index
from model.cells import Fleet
from model.errors import InputError, InputErrors
from model.flags import FlagState
from model.versions import release_key

# cell id -> service -> release the cell runs
Releases = Mapping[str, Mapping[str, str]]


def declared_releases(fleet: Fleet) -> dict[str, dict[str, str]]:
    """What each cell of the fleet declares it runs."""
    return {c.id: {p.value: s.release for p, s in c.services.items()} for c in fleet.cells}


def runs_release(releases: Releases, cell: str, service: str, wanted: str) -> bool:
    running = releases.get(cell, {}).get(service)
    return running is not None and release_key(running) >= release_key(wanted)


@dataclass(frozen=True)
class Exposure:
    """Cells a part of the plan turns the flag on in, and where that part is written."""

    what: str
    field: str
    line: int
    cells: tuple[str, ...]


def exposures(flag: PlannedFlag, at: date | None) -> Iterator[Exposure]:
    """What the flag file turns on: every stage (at None) or what is in force on day `at`."""
    plan = flag.plan
    if plan.state is FlagState.DISABLED or (at is not None and at < plan.start):
        return
    if plan.allowlist:
        yield Exposure("the allowlist", "flag.allowlist", flag.line, flag.flag_cells)
    current = None if at is None else active_index(plan, at)
    for i, stage in enumerate(plan.stages):
        if (at is None or i == current) and plan.share(stage) > 0:
            yield Exposure(f"stage {i + 1} ({plan.stage_start(stage).isoformat()}, {plan.share(stage)}%)",
                           f"flag.stages[{i}]", flag.stage_lines[i], flag.stage_cells[i])


def lagging_cells(flag: PlannedFlag, cells: Sequence[str], releases: Releases) -> tuple[str, ...]:
    """Cells among `cells` that lack some service's release the plan requires."""
    wanted = sorted(flag.plan.release.items())
    return tuple(c for c in cells if not all(runs_release(releases, c, p.value, v) for p, v in wanted))


def gate_errors(flag: PlannedFlag, releases: Releases, at: date | None, source: str) -> list[InputError]:
    required = ", ".join(f"{p.value} {v}" for p, v in sorted(flag.plan.release.items()))
    errors = []
    for part in exposures(flag, at):
        lagging = lagging_cells(flag, part.cells, releases)
        if lagging:
            errors.append(InputError(
                flag.shown, part.line, part.field,
                f"{flag.key}: {part.what} turns it on where {required} is not deployed: "
                f"{len(lagging)} of {len(part.cells)} cells ({source}): {', '.join(lagging)}"))
    return errors


def gate(flags: Sequence[PlannedFlag], releases: Releases, at: date | None = None, source: str = "cells") -> None:
    """Raise InputErrors naming the lagging cells of every part of a plan that would turn a flag on too early."""
    errors = [e for flag in flags for e in gate_errors(flag, releases, at, source)]
    if errors:
        raise InputErrors(errors)
