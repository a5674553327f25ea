"""The rollout execution's input: the version, optional setting overrides, and the plan's cells.

The plan document (stored by reference, `pipelines.planref`; never in a definition): per wave,
its cells in deploy order, cut into batches small enough that one batch execution stays within
the history budget (`pipelines.history.batch_size`). A batch never spans two chunks of
`pipelines.plancheck.CHUNK_CELLS` cells (the plan object's items).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from model.errors import InputError, InputErrors
from pipelines.history import MAX_BATCH, batch_size
from pipelines.plancheck import CHUNK_CELLS
from pipelines.settings import check_overrides, effective, wave_defaults
from pipelines.waves import Plan
from pipelines.windows import Opening

INPUT_QUOTA = 256 * 1024  # Step Functions' limit for an execution input


def chunks(items: tuple[str, ...], size: int) -> list[list[str]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _openings(batches: list[list[str]], openings: Mapping[str, list[Opening]]) -> list[Any]:
    """Openings laid out like the batches; `[]` for a wave or a batch without windowed cells (input size)."""
    if not any(cell in openings for batch in batches for cell in batch):
        return []
    return [[[o.to_json() for o in openings.get(cell, [])] for cell in batch]
            if any(cell in openings for cell in batch) else [] for batch in batches]


def wave_settings(plan: Plan, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """What each wave runs with: its defaults from the policy, with the overrides merged over."""
    timeout = int(plan.policy.deploy_timeout.total_seconds())
    return [effective(wave_defaults(w, timeout), overrides) for w in plan.waves]


def rollout_input(
    plan: Plan, version: str, overrides: dict[str, Any] | None = None, *, max_batch: int = MAX_BATCH,
    openings: Mapping[str, list[Opening]] | None = None,
) -> dict[str, Any]:
    """The document `rollout start` passes to the rollout machine (`max_batch` caps batch sizes).

    `openings`: per windowed cell, its next maintenance-window openings (`pipelines.windows`),
    laid out like the batches; a cell without any deploys as soon as its turn comes.
    """
    openings = openings or {}
    problems = check_overrides(overrides or {})
    if problems:
        raise InputErrors(InputError("--set", 0, "settings", p) for p in problems)
    waves = []
    for wave, settings in zip(plan.waves, wave_settings(plan, overrides), strict=True):
        size = batch_size(settings, min(max_batch, CHUNK_CELLS))
        batches = [batch for chunk in chunks(wave.cells, CHUNK_CELLS) for batch in chunks(tuple(chunk), size)]
        waves.append({"name": wave.name, "batches": batches, "openings": _openings(batches, openings)})
    return {"version": version, "settings": dict(overrides or {}), "waves": waves}
