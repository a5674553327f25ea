"""Reading activation plans: `flags/<flag-key>.yaml`, each checked alone and against the fleet."""

from __future__ import annotations

from pathlib import Path

from activation.plans import PlannedFlag, plan_flag
from fleet.files import load_document, yaml_files
from model.cells import Fleet
from model.errors import InputError, InputErrors
from model.flags import FLAGS_DIR, parse_flag

MAX_FLAG_FILES = 500


def load_flags(root: Path, fleet: Fleet) -> tuple[PlannedFlag, ...]:
    """Every activation plan of the fleet root (none without a flags/ folder); every problem at once."""
    folder = root / FLAGS_DIR
    if not folder.is_dir():
        return ()
    planned: list[PlannedFlag] = []
    errors: list[InputError] = []
    for path in yaml_files(folder)[:MAX_FLAG_FILES]:
        try:
            doc = load_document(path, root)
            planned.append(plan_flag(parse_flag(doc, path.stem), doc, fleet))
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    return tuple(planned)
