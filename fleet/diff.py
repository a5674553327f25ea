"""`fleet diff`: which cells (and generated documents) a change affects, and how, offline.

Runs every cell's stack program under Pulumi's mocks at the base and head revisions (in
worker processes spread over all cores, each serving both revisions: `fleet.workers`), reusing
cached inventories whose inputs did not change, and diffs the registered resources per cell.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from activation.diff import FlagChange, flag_changes
from activation.plans import PlannedFlag
from fleet.balance import UNKNOWN_COST, assign, cell_costs, documents_cost
from fleet.diffing import StackDiff, diff_documents, diff_resources
from fleet.files import load_document, yaml_files
from fleet.flag_inputs import load_flags
from fleet.inputs import load_fleet, load_plan
from fleet.inventory_cache import TreeHashes, documents_entry, load_inventory, lookup
from fleet.revisions import checkout
from fleet.workers import WORKER, Pool, pool
from model.contract import CONTROL_PLANE_STACK, LANDING_ZONE_STACK
from model.errors import InputError, InputErrors
from model.fleet import CELLS_DIR

HARNESS = Path(__file__).resolve().parent / "mocking.py"
# Which stack deploys a generated document, by the document's top folder under build/.
DOCUMENT_STACKS = {"pipeline": CONTROL_PLANE_STACK, "runbooks": CONTROL_PLANE_STACK, "gateway": LANDING_ZONE_STACK}


@dataclass(frozen=True)
class DocumentChange:
    path: str
    status: str
    patch: str


@dataclass(frozen=True)
class DiffResult:
    base: str
    head: str
    stacks: tuple[StackDiff, ...]
    unchanged: int
    documents: tuple[DocumentChange, ...]
    tiers: dict[str, str]
    waves: dict[str, str]
    added_cells: tuple[str, ...]
    removed_cells: tuple[str, ...]
    ran: int
    cached: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    flags: tuple[FlagChange, ...] = field(default_factory=tuple)
    at: date | None = None  # the day the documents and flag stages are taken on

    @property
    def affected_stacks(self) -> tuple[str, ...]:
        cells = [s.stack for s in self.stacks if s.stack not in self.removed_cells]
        extra = sorted({DOCUMENT_STACKS[d.path.split("/", 1)[0]] for d in self.documents
                        if d.path.split("/", 1)[0] in DOCUMENT_STACKS})
        return (*cells, *extra)


def _cell_ids(tree: Path) -> list[str]:
    """Cells with a stack program at `tree`: every cell file but those marked `decommission: true`."""
    folder = tree / CELLS_DIR
    return [p.stem for p in yaml_files(folder) if not _retiring(p, tree)] if folder.is_dir() else []


def _retiring(path: Path, tree: Path) -> bool:
    """Whether a cell file says `decommission: true` (a file that cannot be read counts as a cell)."""
    try:
        data = load_document(path, tree).data
    except InputErrors:
        return False
    return isinstance(data, dict) and data.get("decommission") is True


def _base_flags(tree: Path) -> tuple[tuple[PlannedFlag, ...], str | None]:
    """The base revision's activation plans, or none and a note when they (or its fleet) do not load."""
    try:
        return load_flags(tree, load_fleet(tree)), None
    except InputErrors as exc:
        return (), f"base: feature flags unavailable ({exc.errors[0]}{' …' if len(exc.errors) > 1 else ''})"


def _documents(folder: Path) -> dict[str, str]:
    path = folder / "documents.json"
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _patch(path: str, old: str, new: str, limit: int = 200) -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"base/{path}", f"head/{path}", lineterm=""))
    if len(lines) > limit:
        lines = [*lines[:limit], f"… {len(lines) - limit} more lines"]
    return "\n".join(lines)


def _fill(tree: Path, cells: list[str], cache: Path, docs: Path | None, workers: Pool, at: date,
          costs: Mapping[str, int] | None = None, done: Callable[[str], None] | None = None,
          ) -> tuple[dict[str, str | None], int]:
    """Cache entries of `cells` at `tree`, running the programs that have none; also renders the docs (unless None).

    One task per worker process, the cells split by expected cost (`costs`, default: equal); the
    task that renders the documents starts with their cost, so gets fewer cells.
    """
    hashes = TreeHashes(tree, HARNESS, WORKER)
    entries = {c: lookup(cache, c, hashes) for c in cells}
    missing = [c for c, entry in entries.items() if entry is None]
    render = docs is not None and not docs.exists()
    if not missing and not render:
        return entries, 0  # every cell a cache hit: no process started, nothing imported
    preload = [documents_cost(len(_cell_ids(tree)))] if render else []
    chunks = assign({c: (costs or {}).get(c, UNKNOWN_COST) for c in missing},
                    max(1, min(workers.size, len(missing) + render)), preload)
    tasks: list[dict[str, Any]] = []
    for index, chunk in enumerate(chunks):
        task: dict[str, Any] = {"tree": str(tree), "harness": str(HARNESS), "cache": str(cache), "cells": chunk}
        if render and index == 0:
            task.update(documents=str(docs), at=at.isoformat())
        if chunk or "documents" in task:
            tasks.append(task)
    entries.update(workers.run(tasks, done))
    return entries, len(missing)


def cell_entries(tree: Path, cells: list[str], cache: Path, *, jobs: int | None = None,
                 costs: Mapping[str, int] | None = None,
                 done: Callable[[str], None] | None = None) -> tuple[dict[str, str], int]:
    """Each cell's cache entry at `tree`, from the cache or run in worker processes (`fleet.inventory_cache`).

    The engine of `fleet build` and `fleet diff`; returns the entries and how many programs ran.
    `done(cell)` is called as each program that had to run finishes.
    """
    with pool(jobs or os.cpu_count() or 1) as workers:
        entries, ran = _fill(tree, cells, cache, None, workers, date.min, costs, done)
    out: dict[str, str] = {}
    for cell in cells:
        entry = entries.get(cell)
        if entry is None:
            raise InputErrors([InputError(f"cells/{cell}.yaml", 1, "build", "no inventory produced")])
        out[cell] = entry
    return out, ran


Selection = Callable[[Mapping[str, str], Sequence[str]], set[str]]


def run_diff(
    repo: Path,
    base: str,
    head: str | None = None,
    *,
    cache: Path | None = None,
    jobs: int | None = None,
    at: date,
    only: Selection | None = None,
    fleet_wide: bool = True,
) -> DiffResult:
    """Diff every cell and generated document (rendered for day `at`) between `base` and `head` (None: the working tree).

    Head runs first, so a base cell whose inputs are the same as at head is then a cache hit:
    a cold cache costs one run per unchanged cell, not two. `only(head tiers, base cells)`
    picks the cells to diff (a shard's share, `fleet.shards`); `fleet_wide=False` skips the parts
    that are not per cell (documents, feature flags): another shard diffs them.
    """
    size = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="fleet-diff-") as scratch:
        cache_dir = cache if cache is not None else Path(scratch) / "cache"
        with checkout(repo, base) as base_tree, checkout(repo, head, "--head") as head_tree, pool(size) as workers:
            head_fleet = load_fleet(head_tree)  # an invalid head is an input error, not a diff
            _, head_plan = load_plan(head_tree, head_fleet)
            head_cells, base_cells = list(head_fleet.ids), _cell_ids(base_tree)
            tiers = {c.id: c.tier.value for c in head_fleet.cells}
            mine = only(tiers, base_cells) if only is not None else set(head_cells) | set(base_cells)
            run_head, run_base = [c for c in head_cells if c in mine], [c for c in base_cells if c in mine]
            docs = ({"base": documents_entry(cache_dir, base_tree, at), "head": documents_entry(cache_dir, head_tree, at)}
                    if fleet_wide else {})
            costs = cell_costs(tiers, base_cells)
            head_entries, ran_head = _fill(head_tree, run_head, cache_dir, docs.get("head"), workers, at, costs)
            base_entries, ran_base = _fill(base_tree, run_base, cache_dir, docs.get("base"), workers, at, costs)
            stacks, unchanged = _diff_cells(cache_dir, {"base": base_entries, "head": head_entries})
            docs_base, docs_head = (_documents(docs["base"]), _documents(docs["head"])) if fleet_wide else ({}, {})
            changes = tuple(
                DocumentChange(path, status, _patch(path, docs_base.get(path, ""), docs_head.get(path, "")))
                for path, status in diff_documents(docs_base, docs_head).items()
            )
            notes = tuple(
                f"{name}: generated documents unavailable ({(folder / '_error.txt').read_text().strip()})"
                for name, folder in docs.items() if (folder / "_error.txt").exists()
            )
            flags: tuple[FlagChange, ...] = ()
            if fleet_wide:
                base_flags, flag_note = _base_flags(base_tree)
                flags = tuple(flag_changes(base_flags, load_flags(head_tree, head_fleet), at))
                if flag_note is not None:
                    notes = (*notes, flag_note)
            waves = {cell: wave.name for wave in head_plan.waves for cell in wave.cells}
    ran = ran_head + ran_base
    return DiffResult(
        base=base,
        head=head or "working tree",
        stacks=stacks,
        unchanged=unchanged,
        documents=changes,
        tiers=tiers,
        waves=waves,
        added_cells=tuple(sorted(set(head_cells) - set(base_cells))),
        removed_cells=tuple(sorted(set(base_cells) - set(head_cells))),
        ran=ran,
        cached=len(run_base) + len(run_head) - ran,
        notes=notes,
        flags=flags,
        at=at,
    )


def _diff_cells(cache: Path, entries: dict[str, dict[str, str | None]]) -> tuple[tuple[StackDiff, ...], int]:
    """Diff each cell's base and head inventories; identical cache entries mean no change."""
    base, head = entries["base"], entries["head"]
    out: list[StackDiff] = []
    unchanged = 0
    for cell in sorted(base.keys() | head.keys()):
        old_entry, new_entry = base.get(cell), head.get(cell)
        if cell in base and cell in head and old_entry is not None and old_entry == new_entry:
            unchanged += 1
            continue
        for side, found in (("base", base), ("head", head)):
            if cell in found and found[cell] is None:
                raise InputErrors([InputError(f"cells/{cell}.yaml", 1, "diff", f"no inventory produced at {side}")])
        old = load_inventory(cache, cell, old_entry) if old_entry else None
        new = load_inventory(cache, cell, new_entry) if new_entry else None
        result = diff_resources(cell, old, new)
        if result.changed:
            out.append(result)
        else:
            unchanged += 1
    return tuple(out), unchanged
