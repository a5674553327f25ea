"""Ordering of releases (semantic versions, as `model.cells.SEMVER` accepts them)."""

from __future__ import annotations

from model.cells import SEMVER


def release_key(release: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """Sort key of a release: `2.10.0` after `2.9.0`, a pre-release before its release (SemVer 2.0 §11).

    Anything else (a registry value like `none`) sorts before every release.
    """
    if SEMVER.match(release) is None:
        return -1, -1, -1, 0, ()
    core, _, pre = release.partition("-")
    major, minor, patch = (int(p) for p in core.split("."))
    if not pre:
        return major, minor, patch, 1, ()
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return major, minor, patch, 0, parts
