"""Migration manifests (`migrations/<id>/manifest.yaml`), in the seed's format.

Scripts are given per engine: `script: {aurora-postgresql: path, aurora-mysql: path}`, or one
path for every engine (a backfill program that takes `--engine`). Paths are relative to the
fleet root, as in the seed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationError

from fleet.durations import Duration
from fleet.errors import InputError, InputErrors, display_path
from fleet.model import Engine
from fleet.parsing import Strict, clean_loc, error_message, parse_model
from fleet.yamlio import Document, dotted, load_document

MIGRATIONS_DIR = "migrations"
MANIFEST_FILE = "manifest.yaml"
MIGRATION_ID = r"^\d{4}-\d{2}-\d{2}-[a-z0-9]+(-[a-z0-9]+)*$"
IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"


class PhaseName(StrEnum):
    EXPAND = "expand"
    MIGRATE_CODE = "migrate-code"
    BACKFILL = "backfill"
    MIGRATE_CODE_READONLY = "migrate-code-readonly"
    CONTRACT = "contract"


class PhaseType(StrEnum):
    SCHEMA = "schema"
    DEPLOYMENT = "deployment"
    DATA = "data"


PHASE_TYPES: dict[PhaseName, PhaseType] = {
    PhaseName.EXPAND: PhaseType.SCHEMA,
    PhaseName.MIGRATE_CODE: PhaseType.DEPLOYMENT,
    PhaseName.BACKFILL: PhaseType.DATA,
    PhaseName.MIGRATE_CODE_READONLY: PhaseType.DEPLOYMENT,
    PhaseName.CONTRACT: PhaseType.SCHEMA,
}


class RolloutStep(Strict):
    """One step of an explicit rollout: cells (ids or globs), bake time after it, human gate before it."""

    cells: tuple[str, ...] = Field(min_length=1)
    wait: Duration = timedelta(0)
    requires_approval: bool = False


def _rollout_kind(value: Any) -> str:
    return "standard" if isinstance(value, str) else "steps"


Rollout = Annotated[
    Annotated[Literal["standard"], Tag("standard")] | Annotated[tuple[RolloutStep, ...], Tag("steps")],
    Discriminator(_rollout_kind),
]


def _script_kind(value: Any) -> str:
    return "path" if isinstance(value, str) else "engines"


Scripts = Annotated[
    Annotated[str, Tag("path")] | Annotated[dict[Engine, str], Tag("engines")],
    Discriminator(_script_kind),
]
_TAGS = {"standard", "steps", "path", "engines"}


class Phase(Strict):
    """One phase; which keys apply depends on its type (checked by the planner, with lines)."""

    name: PhaseName
    type: PhaseType
    script: Scripts | None = None
    version: str | None = Field(default=None, pattern=r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
    rollout: Rollout | None = None
    parallel_cells: int | None = Field(default=None, ge=1, le=1000)
    checkpoint_interval: int | None = Field(default=None, ge=1)


class Change(Strict):
    """What the migration moves: `columns` maps each old column to its new one in `table`."""

    table: str = Field(pattern=IDENTIFIER)
    columns: dict[str, str] = Field(min_length=1)


class Estimates(Strict):
    """Per-cell durations the schedule assumes (deployments use the rollout policy's estimate)."""

    schema_change: Duration = timedelta(minutes=15)
    backfill: Duration = timedelta(hours=2)


class Timeouts(Strict):
    lock: Duration = timedelta(seconds=5)
    statement: Duration = timedelta(minutes=15)


class Migration(Strict):
    id: str = Field(pattern=MIGRATION_ID)
    description: str = Field(min_length=1)
    database: str = Field(default="app", pattern=IDENTIFIER)
    change: Change
    start: datetime | None = None
    timeouts: Timeouts = Timeouts()
    estimates: Estimates = Estimates()
    phases: tuple[Phase, ...] = Field(min_length=1)


class ManifestFile(Strict):
    migration: Migration


def _parse(doc: Document) -> ManifestFile:
    """`parse_model`, with the union tags of `rollout` and `script` left out of error locations."""
    if not isinstance(doc.data, dict):
        return parse_model(doc, ManifestFile)
    try:
        return ManifestFile.model_validate(doc.data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(p for p in clean_loc(tuple(err["loc"])) if p not in _TAGS)
            errors.append(InputError(doc.shown, doc.line_of(loc), dotted(loc), error_message(err)))
        raise InputErrors(errors) from None


def manifest_path(root: Path, migration_id: str) -> Path:
    return root / MIGRATIONS_DIR / migration_id / MANIFEST_FILE


def migration_ids(root: Path) -> list[str]:
    """Every migration folder with a manifest, sorted (ids start with their date)."""
    folder = root / MIGRATIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob(f"*/{MANIFEST_FILE}"))


def load_manifest(root: Path, migration_id: str) -> tuple[Migration, Document]:
    """Parse one manifest (shape only; `planner.plan_migration` checks it against the fleet)."""
    path = manifest_path(root, migration_id)
    if not path.is_file():
        shown = display_path(path, root)
        raise InputErrors([InputError(shown, 1, "(file)", f"no migration {migration_id!r}: {shown} does not exist")])
    doc = load_document(path, root)
    manifest = _parse(doc)
    if manifest.migration.id != migration_id:
        raise InputErrors([doc.error(("migration", "id"), f"must equal the folder name {migration_id!r}")])
    return manifest.migration, doc
