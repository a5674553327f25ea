"""Cell selectors: explicit ids and shell-style globs (`smb-*`) resolved against the fleet."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def resolve(patterns: Sequence[str], cell_ids: Iterable[str]) -> tuple[str, ...]:
    """Cell ids matched by any pattern, in fleet order, each once."""
    ids = list(cell_ids)
    return tuple(cid for cid in ids if any(fnmatchcase(cid, p) for p in patterns))


def unmatched(patterns: Sequence[str], cell_ids: Iterable[str]) -> list[str]:
    """Patterns that select no cell at all."""
    ids = list(cell_ids)
    return [p for p in patterns if not any(fnmatchcase(cid, p) for cid in ids)]
