"""Materialise a git revision of the fleet repository as a directory tree."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from model.errors import InputError, InputErrors, option_error


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InputErrors([InputError(str(repo), 1, "git", done.stderr.strip().splitlines()[-1] if done.stderr else "failed")])
    return done.stdout.strip()


def resolve_ref(repo: Path, ref: str, option: str = "--base") -> str:
    """The commit a ref names, or InputErrors naming the bad ref (or the root that is not a repository)."""
    inside = subprocess.run(["git", "-C", str(repo), "rev-parse", "--git-dir"], capture_output=True, check=False)
    if inside.returncode != 0:
        raise InputErrors([option_error("--root", "root", f"{repo} is not a git repository (fleet diff compares git revisions)")])
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except InputErrors:
        raise InputErrors([option_error(option, "ref", f"unknown revision {ref[:80]!r}")]) from None


@contextmanager
def checkout(repo: Path, ref: str | None, option: str = "--base") -> Iterator[Path]:
    """Yield a tree of `ref` (a temporary detached worktree), or the working tree itself for None."""
    if ref is None:
        yield repo.resolve()
        return
    commit = resolve_ref(repo, ref, option)
    parent = Path(tempfile.mkdtemp(prefix="fleet-diff-"))
    tree = parent / "tree"
    _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], capture_output=True,
                       check=False)
        shutil.rmtree(parent, ignore_errors=True)
