"""Content-addressed cache of cell inventories for `fleet diff`.

An entry records the hash of every file the cell's stack program depended on (its cell
file, tier defaults, every module it imported, the cell module folder, the harness and the
Python version). It is reused for a tree only when every one of those hashes still matches,
so a change to any input of a cell always re-runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_CACHE = Path(".fleet-cache") / "inventories"
DOCUMENTS = "_documents"
# Folders that never feed a generated document.
_NOT_INPUTS = {".git", "__pycache__", ".fleet-cache", ".venv", "node_modules", "build", "tests", "benchmarks", ".github",
               ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


def harness_digest(harness: Path, worker: Path) -> str:
    """The `<harness>` entry of every cache entry: the mock harness and the worker that wrote it."""
    return hashlib.sha256(harness.read_bytes() + b"\0" + worker.read_bytes()).hexdigest()


@dataclass
class TreeHashes:
    """Memoised content hashes of files in one tree (None for a missing file)."""

    tree: Path
    harness: Path
    worker: Path
    _seen: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The two entries the worker records besides files: the mock harness (with the worker, which
        # fixes the entry's JSON shape) and the interpreter.
        self._seen["<harness>"] = harness_digest(self.harness, self.worker)
        self._seen["<python>"] = sys.version

    def get(self, relative: str) -> str | None:
        if relative not in self._seen:
            path = self.tree / relative
            self._seen[relative] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        return self._seen[relative]

    def matches(self, deps: dict[str, str]) -> bool:
        return all(self.get(name) == digest for name, digest in deps.items())


def lookup(cache: Path, cell: str, hashes: TreeHashes) -> str | None:
    """The id of a cache entry valid for `cell` in this tree, if any."""
    folder = cache / cell
    if not folder.is_dir():
        return None
    for deps_file in sorted(folder.glob("*.deps.json")):
        try:
            deps = json.loads(deps_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if hashes.matches(deps) and (folder / f"{deps_file.name[: -len('.deps.json')]}.json").exists():
            return deps_file.name[: -len(".deps.json")]
    return None


def load_inventory(cache: Path, cell: str, entry: str) -> dict[str, Any]:
    data = json.loads((cache / cell / f"{entry}.json").read_text(encoding="utf-8"))
    inventory: dict[str, Any] = data["inventory"]
    return inventory


def _files_digest(tree: Path, folders: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for folder in folders for p in folder.rglob("*")):
        rel = path.relative_to(tree)
        if path.is_file() and not _NOT_INPUTS.intersection(rel.parts):
            digest.update(rel.as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def tree_digest(tree: Path) -> str:
    """One hash of every file that can feed a generated document (code, cells, policies, manifests)."""
    return _files_digest(tree, [tree])


@lru_cache(maxsize=1)
def code_digest() -> str:
    """One hash of the running tool's own packages (the code that renders a tree's inputs), and the interpreter."""
    home = Path(__file__).resolve().parent.parent
    packages = [p for p in sorted(home.iterdir()) if (p / "__init__.py").is_file() and p.name not in _NOT_INPUTS]
    return hashlib.sha256(f"{_files_digest(home, packages)}\0{sys.version}".encode()).hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so a concurrent reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def documents_entry(cache: Path, tree: Path, at: date) -> Path:
    """Where the documents of a tree with this content, rendered for day `at`, are (or will be) cached."""
    return cache / DOCUMENTS / f"{tree_digest(tree)}-{at.isoformat()}"
