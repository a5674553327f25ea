"""`fleet diff --shard K/N` and `fleet diff merge`: one diff split over N CI runners, then joined.

Assignment (`fleet.balance`): greedy by expected cost (longest first onto the least loaded shard;
ties broken by cell id, then by the lowest shard number), so it depends only on the cell ids and
tiers, and every cell lands in exactly one shard. A cell's expected cost is its tier's resource
count (a program's run time is ~7 ms per registered resource) times the revisions it exists at.

Shard 1 also diffs the fleet-wide parts (the generated documents and the feature flags: one piece
of work each, not per cell), so it starts with their expected cost and gets fewer cells; the merge
takes them from its partial result. A partial result is JSON; merging every shard of one
diff gives the `DiffResult` the unsharded diff would have, so the same renderers print the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from activation.diff import FlagChange
from fleet.balance import assign, cell_costs, documents_cost
from fleet.diff import DiffResult, DocumentChange, run_diff
from fleet.diffing import PropertyChange, ResourceChange, StackDiff
from model.errors import InputError, InputErrors
from model.jsonio import dumps

FORMAT = "cellfleet-diff-shard/3"  # 3: flags and notes from shard 1 only
_SHARD = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 <= K <= N; ValueError (a usage error for the CLI) otherwise."""
    match = _SHARD.match(text.strip())
    if match is None:
        raise ValueError(f"{text[:40]!r} is not K/N (two positive whole numbers, e.g. 2/4)")
    shard = Shard(int(match.group(1)), int(match.group(2)))
    if shard.index > shard.count:
        raise ValueError(f"shard {shard} does not exist: K must be between 1 and N")
    return shard


def shares(head_tiers: Mapping[str, str], base_cells: Sequence[str], count: int) -> list[list[str]]:
    """The cells of each of `count` shards; shard 1 starts loaded with both revisions' documents."""
    preload = [documents_cost(len(head_tiers)) + documents_cost(len(base_cells))]
    return assign(cell_costs(head_tiers, base_cells), count, preload)


def run_shard(repo: Path, base: str, head: str | None, shard: Shard, *, cache: Path | None, jobs: int | None,
              at: date) -> tuple[DiffResult, list[str]]:
    """Diff only `shard`'s cells (and, for shard 1, the documents and flags); the result and the cells it covered."""
    covered: list[str] = []

    def pick(head_tiers: Mapping[str, str], base_cells: Sequence[str]) -> set[str]:
        mine = set(shares(head_tiers, base_cells, shard.count)[shard.index - 1])
        covered.extend(sorted(mine))
        return mine

    result = run_diff(repo, base, head, cache=cache, jobs=jobs, at=at, only=pick, fleet_wide=shard.index == 1)
    return result, covered


def partial_json(result: DiffResult, shard: Shard, cells: Sequence[str]) -> str:
    """The partial result of one shard (its cells' diffs; the documents, notes and flags too for shard 1)."""
    return dumps({
        "format": FORMAT,
        "shard": {"index": shard.index, "count": shard.count},
        "cells": sorted(cells),
        "base": result.base,
        "head": result.head,
        "stacks": [asdict(s) for s in result.stacks],
        "unchanged": result.unchanged,
        "documents": [asdict(d) for d in result.documents] if shard.index == 1 else None,
        "notes": list(result.notes) if shard.index == 1 else None,
        "flags": [asdict(f) for f in result.flags] if shard.index == 1 else None,
        "at": result.at.isoformat() if result.at else None,
        "tiers": list(result.tiers.items()),  # pairs: the order is the plan's (dumps sorts keys)
        "waves": list(result.waves.items()),
        "added_cells": list(result.added_cells),
        "removed_cells": list(result.removed_cells),
        "ran": result.ran,
        "cached": result.cached,
    })


def _stack(data: dict[str, Any]) -> StackDiff:
    changes = tuple(
        ResourceChange(**{**c, "properties": tuple(PropertyChange(**p) for p in c["properties"])})
        for c in data["changes"]
    )
    return StackDiff(data["stack"], changes, data["error"])


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputErrors([InputError(str(path), 1, "part", f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:
        raise InputErrors([InputError(str(path), 1, "part", f"not JSON: {exc}")]) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputErrors([InputError(str(path), 1, "format", f"not a partial diff result ({FORMAT})")])
    return data


def merge(paths: Sequence[Path]) -> DiffResult:
    """Join the partial results of every shard of one diff into the unsharded diff's result."""
    parts = {path: _read(path) for path in paths}
    problems: list[InputError] = []
    first_path, first = next(iter(parts.items()))
    count = int(first["shard"]["count"])
    seen: dict[int, Path] = {}
    for path, part in parts.items():
        index = int(part["shard"]["index"])
        if int(part["shard"]["count"]) != count:
            problems.append(InputError(str(path), 1, "shard", f"shard {index}/{part['shard']['count']} is not of {count}"))
        elif index in seen:
            problems.append(InputError(str(path), 1, "shard", f"shard {index}/{count} given twice (also {seen[index]})"))
        seen.setdefault(index, path)
        for key in ("base", "head", "at", "tiers", "waves", "added_cells", "removed_cells"):
            if part[key] != first[key]:
                problems.append(InputError(str(path), 1, key, f"differs from {first_path}: not the same diff"))
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        problems.append(InputError(str(first_path), 1, "shard",
                                   f"missing shards {', '.join(f'{k}/{count}' for k in missing)}"))
    if problems:
        raise InputErrors(problems)
    ordered = [parts[seen[k]] for k in range(1, count + 1)]
    documents = ordered[0]["documents"] or []
    return DiffResult(
        base=first["base"],
        head=first["head"],
        stacks=tuple(sorted((_stack(s) for part in ordered for s in part["stacks"]), key=lambda s: s.stack)),
        unchanged=sum(int(part["unchanged"]) for part in ordered),
        documents=tuple(DocumentChange(**d) for d in documents),
        tiers=dict(first["tiers"]),
        waves=dict(first["waves"]),
        added_cells=tuple(first["added_cells"]),
        removed_cells=tuple(first["removed_cells"]),
        ran=sum(int(part["ran"]) for part in ordered),
        cached=sum(int(part["cached"]) for part in ordered),
        notes=tuple(ordered[0]["notes"]),
        flags=tuple(_flag(f) for f in ordered[0]["flags"]),
        at=date.fromisoformat(first["at"]) if first["at"] else None,
    )


def _flag(data: dict[str, Any]) -> FlagChange:
    def pair(name: str) -> Any:
        return tuple(data[name])

    return FlagChange(key=data["key"], change=data["change"], state=pair("state"), stage=pair("stage"),
                      percent=pair("percent"), schedule=pair("schedule"), gaining=pair("gaining"), losing=pair("losing"))
