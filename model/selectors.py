"""Cell selectors: explicit ids and shell-style globs (`smb-*`), the one selection algorithm.

Waves of the rollout policy and steps of a migration's rollout both pick cells with `pick`:
patterns in order, each cell once, skipping cells an earlier group already took.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def resolve(patterns: Sequence[str], cell_ids: Iterable[str]) -> tuple[str, ...]:
    """Cell ids matched by any pattern, in fleet order, each once."""
    return tuple(cid for cid in cell_ids if any(fnmatchcase(cid, p) for p in patterns))


@dataclass(frozen=True)
class Picked:
    """The cells a group of patterns selects, and what is wrong with which pattern (by index)."""

    cells: tuple[str, ...]
    problems: tuple[tuple[int, str], ...]


def pick(patterns: Sequence[str], pool: Sequence[str], taken: Mapping[str, str], known: Collection[str]) -> Picked:
    """Select from `pool` (ids in order) by `patterns`; `taken` maps a cell to the earlier group that has it.

    An explicit id must be a `known` cell, in the pool, not taken and not listed twice; a glob must
    match some known cell and takes the matching pool cells no one has taken yet.
    """
    chosen: list[str] = []
    seen: set[str] = set()  # `chosen` as a set: membership in O(1), so a glob over 100,000 cells stays linear
    in_pool, in_known = set(pool), set(known)
    problems: list[tuple[int, str]] = []
    for j, pattern in enumerate(patterns):
        if not is_glob(pattern):
            if pattern not in in_known:
                problems.append((j, f"unknown cell {pattern!r}"))
            elif pattern not in in_pool:
                problems.append((j, f"cell {pattern!r} is not of the tier this selection takes"))
            elif pattern in taken:
                problems.append((j, f"cell {pattern!r} is already in {taken[pattern]}"))
            elif pattern in seen:
                problems.append((j, f"cell {pattern!r} is listed twice"))
            else:
                chosen.append(pattern)
                seen.add(pattern)
            continue
        if not any(fnmatchcase(cid, pattern) for cid in known):
            problems.append((j, f"{pattern!r} matches no cell"))
        for c in resolve([pattern], pool):
            if c not in taken and c not in seen:
                chosen.append(c)
                seen.add(c)
    return Picked(tuple(chosen), tuple(problems))
