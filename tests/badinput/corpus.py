"""The bad-input corpus: cases read from `cases/*.yaml`, each a mistake made in a copy of the sample fleet.

A case is one table row:

    - name: engine-version-not-of-engine        # unique
      edit:                                     # applied to the copy, in order (paths from the fleet root)
        cells/smb-us-1.yaml: {append: "..."}    # or {replace: [old, new]}, {write: text}, {delete: true},
                                                #    {bytes: <size>, fill: "a"}, {symlink: target}, {mkdir: true}
      args: [check]                             # the command line; `{root}` is the copy, default [check, --root, {root}]
      exit: 1                                   # 1: `errors` are the exact stderr lines; 2: a usage error
      errors: ["cells/smb-us-1.yaml:6: database.engine_version: ..."]
      usage: --version                          # exit 2: the option the usage error names
      subprocess: true                          # run `python -m fleet` with a memory limit (bombs, huge files)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fleet.options import REPO_ROOT

CASES = Path(__file__).parent / "cases"
# What a fleet root holds: the inputs `fleet check` reads (no code, no generated files).
FLEET_PARTS = ("cells", "pipelines/rollout.yaml", "landing_zone/api-gateway-config.yaml", "migrations", "flags")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    edit: dict[str, dict[str, Any]] = field(default_factory=dict)
    args: tuple[str, ...] = ("check", "--root", "{root}")
    exit: int = 1
    errors: tuple[str, ...] = ()
    usage: str | None = None
    subprocess: bool = False


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES.glob("*.yaml")):
        for row in yaml.safe_load(path.read_text(encoding="utf-8")):
            args = tuple(str(a) for a in row.pop("args", Case.args))
            errors = tuple(row.pop("errors", ()))
            cases.append(Case(kind=path.stem, args=args, errors=errors, **row))
    return cases


def copy_fleet(target: Path) -> Path:
    """A fresh copy of the sample fleet's inputs under `target` (migration code and caches left out)."""
    for part in FLEET_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / part)
    return target


def apply_edits(root: Path, edits: dict[str, dict[str, Any]]) -> None:
    """Make the case's mistakes; an edit that does not apply is a broken case, not a pass."""
    for relative, edit in edits.items():
        path = root / relative
        if "replace" in edit:
            old, new = edit["replace"]
            text = path.read_text(encoding="utf-8")
            if old not in text:
                raise AssertionError(f"{relative}: {old!r} not found")
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
        elif "append" in edit:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(edit["append"])
        elif "write" in edit:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(edit["write"], encoding="utf-8")
        elif "repeat" in edit:  # a generated text: head + body * count + tail
            path.parent.mkdir(parents=True, exist_ok=True)
            body = "".join(edit["repeat"].format(i=i) for i in range(edit["count"]))
            path.write_text(edit.get("head", "") + body + edit.get("tail", ""), encoding="utf-8")
        elif "bytes" in edit:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes.fromhex(edit["bytes"]))
        elif edit.get("delete"):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        elif "symlink" in edit:
            path.symlink_to(edit["symlink"])
        elif edit.get("unreadable"):
            path.chmod(0)
        else:
            raise AssertionError(f"{relative}: unknown edit {edit}")


def expand(text: str, root: Path) -> str:
    return text.replace("{root}", str(root))
