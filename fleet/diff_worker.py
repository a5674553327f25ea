"""Worker for `fleet diff` and `fleet build`: runs cell programs inside a revision's tree and writes cache entries.

Started as a script (`python fleet/diff_worker.py`), never imported, so the tree's own `fleet`,
`modules`… packages are the ones imported. It reads tasks from stdin, one JSON object a line
(`tree`, `harness`, `cache`, `cells`, optionally `documents` and `at`), answers each with one
`cell<TAB>entry` line per cell run and an empty line when the task is done. For each cell it
runs the stack program (`__main__.py`'s, of that tree) under the mock harness given by path,
records the code files the program imported, and writes `{deps, inventory}` into the cache; with
`documents` it then renders the tree's documents into that folder. One process serves the tasks
of both revisions of a diff: the Pulumi SDK and providers are imported once, and the modules of
the previous tree are forgotten before a task in another tree.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import runpy
import sys
from collections.abc import Callable
from datetime import date
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


class Dependencies:
    """What the cell programs run in this process depend on, tracked incrementally.

    Modules only accumulate in a process, so each module is looked at once, and each file is
    hashed once (the tree does not change while the worker runs).
    """

    def __init__(self, tree: Path, harness: str) -> None:
        self.tree = tree
        self.prefix = str(tree) + os.sep
        self.seen: set[str] = set()
        self.code: set[str] = {f for f in PROJECT_FILES if (tree / f).exists()}
        for folder in CODE_FOLDERS:
            for path in (tree / folder).rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    self.code.add(path.relative_to(tree).as_posix())
        # As `fleet.inventory_cache.harness_digest` (not importable here: the tree's own packages are).
        digest = hashlib.sha256(Path(harness).read_bytes() + b"\0" + Path(__file__).read_bytes()).hexdigest()
        self.hashes: dict[str, str] = {"<harness>": digest, "<python>": sys.version}

    def _imported(self) -> None:
        for name, module in list(sys.modules.items()):
            if name in self.seen:
                continue
            self.seen.add(name)
            file = getattr(module, "__file__", None)
            if not file:
                continue
            real = os.path.realpath(file)
            if real.startswith(self.prefix) and f"{os.sep}.venv{os.sep}" not in real:
                self.code.add(Path(real).relative_to(self.tree).as_posix())

    def _hash(self, relative: str) -> str:
        if relative not in self.hashes:
            self.hashes[relative] = sha256_file(self.tree / relative)
        return self.hashes[relative]

    def of_cell(self, cell: str) -> dict[str, str]:
        """Content hashes of everything the cell's inventory depends on."""
        self._imported()
        files = set(self.code) | {f"cells/{cell}.yaml"}
        stack_config = f"Pulumi.{cell}.yaml"
        if (self.tree / stack_config).exists():
            files.add(stack_config)
        deps = {f: self._hash(f) for f in sorted(files)}
        deps["<harness>"], deps["<python>"] = self.hashes["<harness>"], self.hashes["<python>"]
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
                "parent": r.parent,
                "parent_key": key(r.parent),
                "provider": r.provider,
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


def _cells_only(tree: Path, cells: list[str]) -> Any:
    """A Fleet of only `cells`, each cell file parsed with the tier defaults by the tree's own model.

    A cell's program needs its cell alone, and parsing every cell file of a large fleet in every
    worker cost more than a shard's programs (~6 ms per file). Cross-cell checks are the
    orchestrator's (it loads the head fleet whole). A tree without these parts, or a cell that does
    not parse on its own: the whole fleet, so its problems are reported as before.
    """
    from fleet.inputs import load_fleet

    try:
        from fleet.files import load_document, yaml_files
        from model.cells import Fleet
        from model.fleet import CELLS_DIR, DEFAULTS_FILE, _Defaults, _parse_cell
    except ImportError:
        return load_fleet(tree)
    folder = tree / CELLS_DIR
    files = {path.stem: path for path in yaml_files(folder)} if folder.is_dir() else {}
    defaults_path = folder / DEFAULTS_FILE
    defaults = _Defaults(load_document(defaults_path, tree) if defaults_path.exists() else None)
    parsed = []
    for cell in cells:
        parsed_cell, errors = (_parse_cell(load_document(files[cell], tree), defaults)
                               if cell in files and not defaults.errors else (None, ["not on its own"]))
        if parsed_cell is None or errors or parsed_cell.id != cell:
            return load_fleet(tree)
        parsed.append(parsed_cell)
    return Fleet(cells=tuple(sorted(parsed, key=lambda c: c.id)))


def _programs(tree: Path, cells: list[str]) -> Callable[[str], Callable[[], None]]:
    """Stack name -> the program `__main__.py` would run for it, for the stacks `cells`.

    The tree's own stack selection (`fleet.stacks.program_for`) with only these cells loaded, once;
    `__main__.py` itself for a tree of another layout or inputs that do not load.
    """
    try:
        from fleet.stacks import program_for

        fleet = _cells_only(tree, cells)
    except Exception:  # an older tree, or inputs that fail: run __main__.py and let it report
        main = str(tree / "__main__.py")

        def run_main() -> None:
            runpy.run_path(main, run_name="__main__")

        return lambda _stack: run_main
    return lambda stack: program_for(stack, tree, fleet)


def run_cells(tree: Path, cells: list[str], harness_path: str, cache: Path) -> None:
    harness = _load_harness(harness_path)
    programs = _programs(tree, cells)
    dependencies = Dependencies(tree, harness_path)
    for cell in cells:
        try:
            inventory = to_json(harness.run_program(programs(cell), stack=cell))
        except Exception as exc:  # a failing program is a result to report, not a crash
            inventory = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500]}
        deps = dependencies.of_cell(cell)
        write_entry(cache, cell, deps, inventory)
        print(f"{cell}\t{entry_id(deps)}", flush=True)  # the orchestrator reads which entry each run wrote


def _rendered(tree: Path, at: str) -> tuple[dict[str, str], list[str]]:
    """The tree's generated documents for day `at` (this layout, or the earlier one of build steps)."""
    try:
        from fleet.build import BUILD_INFO, render_documents
        from fleet.inputs import load_inputs
    except ImportError:
        return _rendered_by_steps(tree)
    try:
        files = render_documents(load_inputs(tree), date.fromisoformat(at)).files
    except Exception as exc:
        return {}, [f"{type(exc).__name__}: {exc}".splitlines()[0][:500]]
    return {path: text for path, text in files.items() if path != BUILD_INFO}, []


def _rendered_by_steps(tree: Path) -> tuple[dict[str, str], list[str]]:
    """Documents of a tree from before `fleet.build.render_documents` (its build steps)."""
    files: dict[str, str] = {}
    problems: list[str] = []
    try:
        from fleet import build, loader  # type: ignore[attr-defined]

        fleet = loader.load_fleet(tree)
        steps = build.document_steps()  # type: ignore[attr-defined]
    except Exception as exc:
        return {}, [f"{type(exc).__name__}: {exc}"]
    for step in steps:
        try:
            files.update(step.run(fleet).files)
        except Exception as exc:
            problems.append(f"step {step.name}: {type(exc).__name__}: {exc}".splitlines()[0][:500])
    return files, problems


def render_documents(tree: Path, out: Path, at: str) -> None:
    """Render the tree's documents into `out/documents.json`; a failure is noted, not fatal."""
    out.mkdir(parents=True, exist_ok=True)
    files, problems = _rendered(tree, at)
    if problems:
        (out / "_error.txt").write_text("; ".join(problems) + "\n", encoding="utf-8")
    (out / "documents.json").write_text(json.dumps(files, sort_keys=True), encoding="utf-8")


class _Trees:
    """Which tree's packages this process imports; entering another forgets the modules of the one before."""

    def __init__(self) -> None:
        self.current: Path | None = None

    def enter(self, tree: Path) -> None:
        if tree == self.current:
            return
        if self.current is not None:
            prefix = str(self.current) + os.sep
            for name, module in list(sys.modules.items()):
                places = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or [])]
                if any(os.path.realpath(str(place)).startswith(prefix) for place in places if place):
                    del sys.modules[name]
            importlib.invalidate_caches()
        sys.path[0] = str(tree)  # the script's own folder, then the tree before: only this tree's packages
        os.chdir(tree)
        self.current = tree


def main() -> None:
    trees = _Trees()
    for line in sys.stdin:
        task = json.loads(line)
        tree = Path(os.path.realpath(task["tree"]))
        trees.enter(tree)
        cells = list(task.get("cells") or [])
        if cells:
            run_cells(tree, cells, task["harness"], Path(task["cache"]))
        if task.get("documents"):  # after the cells, so their recorded imports stay their own
            render_documents(tree, Path(task["documents"]), task["at"])
        print("", flush=True)


if __name__ == "__main__":
    main()
