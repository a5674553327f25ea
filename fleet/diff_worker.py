"""Worker for `fleet diff`: runs inside ONE revision's tree and writes cache entries.

Started as a script (`python fleet/diff_worker.py …`), never imported, so the tree's own
`fleet`, `modules`… packages are the ones imported. It runs each requested cell's stack
program (`__main__.py` of that tree) under the mock harness given by path, records the code
files the program imported, and writes `{deps, inventory}` into the cache. With
`--documents DIR` it renders the tree's document build steps into DIR instead.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

# Whole folders whose every file counts as an input of a cell program (templates, data files).
CODE_FOLDERS = ("modules",)
# Single files every cell program depends on.
PROJECT_FILES = ("__main__.py", "Pulumi.yaml", "requirements.txt", "cells/_defaults.yaml")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_harness(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("_cellfleet_harness", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the mock harness at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_cellfleet_harness"] = module
    spec.loader.exec_module(module)
    return module


def imported_tree_files(tree: Path) -> set[str]:
    """Relative paths of every module under `tree` imported so far in this process."""
    out: set[str] = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        try:
            rel = Path(file).resolve().relative_to(tree)
        except ValueError:
            continue
        if ".venv" not in rel.parts:
            out.add(rel.as_posix())
    return out


def cell_dependencies(tree: Path, cell_file: str, harness: str) -> dict[str, str]:
    """Content hashes of everything the cell's inventory depends on."""
    files = set(imported_tree_files(tree)) | {cell_file}
    files.update(f for f in PROJECT_FILES if (tree / f).exists())
    for folder in CODE_FOLDERS:
        for path in (tree / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                files.add(path.relative_to(tree).as_posix())
    stack_config = f"Pulumi.{Path(cell_file).stem}.yaml"
    if (tree / stack_config).exists():
        files.add(stack_config)
    deps = {f: sha256_file(tree / f) for f in sorted(files)}
    deps["<harness>"] = sha256_file(Path(harness))
    deps["<python>"] = sys.version
    return deps


def to_json(inventory: Any) -> dict[str, Any]:
    def key(urn: str) -> str:
        return urn.split("::", 2)[-1] if urn else ""

    return {
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent_key": key(r.parent),
                "protect": r.protect,
                "inputs": r.inputs,
                "replace_on_changes": list(r.replace_on_changes),
            }
            for r in inventory.resources
        ],
        "outputs": inventory.outputs,
    }


def entry_id(deps: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()[:32]


def write_entry(cache: Path, cell: str, deps: dict[str, str], inventory: dict[str, Any]) -> None:
    folder = cache / cell
    folder.mkdir(parents=True, exist_ok=True)
    eid = entry_id(deps)
    tmp = folder / f".{eid}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"deps": deps, "inventory": inventory}, sort_keys=True), encoding="utf-8")
    tmp.replace(folder / f"{eid}.json")
    dtmp = folder / f".{eid}.{os.getpid()}.deps.tmp"
    dtmp.write_text(json.dumps(deps, sort_keys=True), encoding="utf-8")
    dtmp.replace(folder / f"{eid}.deps.json")


def run_cells(tree: Path, cells: list[str], harness_path: str, cache: Path) -> None:
    harness = _load_harness(harness_path)
    main = tree / "__main__.py"
    for cell in cells:
        try:
            inventory = to_json(
                harness.run_program(lambda: runpy.run_path(str(main), run_name="__main__"), stack=cell)
            )
        except Exception as exc:
            inventory = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500]}
        deps = cell_dependencies(tree, f"cells/{cell}.yaml", harness_path)
        write_entry(cache, cell, deps, inventory)
        print(f"{cell}\t{entry_id(deps)}", flush=True)  # the orchestrator reads which entry each run wrote


def render_documents(tree: Path, out: Path) -> None:
    """Render the tree's document steps into `out/documents.json`; a failing step is noted, not fatal."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    problems: list[str] = []
    try:
        from fleet import build
        from fleet.loader import load_fleet

        fleet = load_fleet(tree)
        steps = build.document_steps() if hasattr(build, "document_steps") else []
    except Exception as exc:
        steps, problems = [], [f"{type(exc).__name__}: {exc}"]
    for step in steps:
        try:
            files.update(step.run(fleet).files)
        except Exception as exc:
            problems.append(f"step {step.name}: {type(exc).__name__}: {exc}".splitlines()[0][:500])
    if problems:
        (out / "_error.txt").write_text("; ".join(problems) + "\n", encoding="utf-8")
    (out / "documents.json").write_text(json.dumps(files, sort_keys=True), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", required=True, type=Path)
    parser.add_argument("--harness", required=True)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--cells", default="")
    parser.add_argument("--documents", type=Path)
    args = parser.parse_args()
    tree = args.tree.resolve()
    sys.path[0] = str(tree)  # replace the script's own folder: only the tree's packages may be imported
    os.chdir(tree)
    cells = [c for c in args.cells.split(",") if c]
    if cells:
        run_cells(tree, cells, args.harness, args.cache)
    if args.documents is not None:  # after the cells, so their recorded imports stay their own
        render_documents(tree, args.documents)


if __name__ == "__main__":
    main()
