"""Migration manifests (`migrations/<id>/manifest.yaml`), in the seed's format.

Scripts are given per engine: `script: {aurora-postgresql: path, aurora-mysql: path}`, or one
path for every engine (a backfill program that takes `--engine`). Paths are relative to the
fleet root, as in the seed. `target: platform` runs the phases on a platform service's global
database (`database: identity | billing`) instead of on every cell's own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, StringConstraints, Tag, model_validator

from model.cells import Engine
from model.contract import CELL_DATABASE, PLATFORM_DATABASES
from model.durations import Duration
from model.errors import InputErrors
from model.validation import Strict, parse_model, union_tag
from model.yamldoc import Document

MIGRATIONS_DIR = "migrations"
MANIFEST_FILE = "manifest.yaml"
MIGRATION_ID = r"^\d{4}-\d{2}-\d{2}-[a-z0-9]+(-[a-z0-9]+)*$"
IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER)]
MAX_WAIT = timedelta(days=365)
MAX_ESTIMATE = timedelta(days=30)


def _at_most(limit: timedelta) -> Any:
    def check(value: timedelta) -> timedelta:
        if value > limit:
            raise ValueError(f"must be at most {limit.days} days")
        return value

    return AfterValidator(check)


class MigrationTarget(StrEnum):
    """Where a migration runs: each cell's own database, or the platform services' one global database."""

    CELLS = "cells"
    PLATFORM = "platform"  # also the one "cell" of a platform plan: its rollout steps name it


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
    wait: Annotated[Duration, _at_most(MAX_WAIT)] = timedelta(0)
    requires_approval: bool = False


def _rollout_kind(value: Any) -> str:
    return union_tag("standard" if isinstance(value, str) else "steps")


Rollout = Annotated[
    Annotated[Literal["standard"], Tag(union_tag("standard"))]
    | Annotated[tuple[RolloutStep, ...], Tag(union_tag("steps"))],
    Discriminator(_rollout_kind),
]


def _script_kind(value: Any) -> str:
    return union_tag("path" if isinstance(value, str) else "engines")


Scripts = Annotated[
    Annotated[str, Tag(union_tag("path"))] | Annotated[dict[Engine, str], Tag(union_tag("engines"))],
    Discriminator(_script_kind),
]


class Phase(Strict):
    """One phase; which keys apply depends on its type (checked by the planner, with lines)."""

    name: PhaseName
    type: PhaseType
    script: Scripts | None = None
    version: str | None = Field(default=None, pattern=r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
    rollout: Rollout | None = None
    parallel_cells: int | None = Field(default=None, ge=1, le=1000)
    checkpoint_interval: int | None = Field(default=None, ge=1)


def _distinct_columns(columns: dict[str, str]) -> dict[str, str]:
    """Each old column moves to a column of its own: otherwise contract would drop data the checks never compared."""
    problems = [f"{old!r} maps to itself" for old, new in columns.items() if old == new]
    targets: dict[str, list[str]] = {}
    for old, new in columns.items():
        targets.setdefault(new, []).append(old)
    problems += [f"{' and '.join(map(repr, olds))} map to the same column {new!r}"
                 for new, olds in targets.items() if len(olds) > 1]
    problems += [f"{new!r} is both a new column and an old one" for new in targets if new in columns and columns[new] != new]
    if problems:
        raise ValueError("; ".join(problems))
    return columns


class Change(Strict):
    """What the migration moves: `columns` maps each old column to its new one in `table`, walked by `key`."""

    table: Identifier
    key: Identifier = "id"
    columns: Annotated[dict[Identifier, Identifier], Field(min_length=1), AfterValidator(_distinct_columns)]

    @model_validator(mode="after")
    def _key_not_moved(self) -> Change:
        # The backfill walks and checkpoints by the key: moving it would lose its place.
        if self.key in self.columns or self.key in self.columns.values():
            raise ValueError(f"the key column {self.key!r} cannot be one of the columns the migration moves")
        return self


class Estimates(Strict):
    """Per-cell durations the schedule assumes (deployments use the rollout policy's estimate)."""

    schema_change: Annotated[Duration, _at_most(MAX_ESTIMATE)] = timedelta(minutes=15)
    backfill: Annotated[Duration, _at_most(MAX_ESTIMATE)] = timedelta(hours=2)


class Timeouts(Strict):
    lock: Annotated[Duration, _at_most(timedelta(hours=1))] = timedelta(seconds=5)
    statement: Annotated[Duration, _at_most(timedelta(days=1))] = timedelta(minutes=15)


class Migration(Strict):
    id: str = Field(pattern=MIGRATION_ID)
    description: str = Field(min_length=1)
    target: MigrationTarget = MigrationTarget.CELLS
    database: Identifier = CELL_DATABASE
    engine: Engine | None = None  # platform only: the global database's engine (cells': their cell files)
    change: Change
    start: datetime | None = None
    timeouts: Timeouts = Timeouts()
    estimates: Estimates = Estimates()
    phases: tuple[Phase, ...] = Field(min_length=1)


class ManifestFile(Strict):
    migration: Migration


def manifest_file(migration_id: str) -> str:
    """Where a migration's manifest is, relative to the fleet root."""
    return f"{MIGRATIONS_DIR}/{migration_id}/{MANIFEST_FILE}"


def parse_manifest(doc: Document, migration_id: str) -> Migration:
    """Validate one manifest's shape (`migrations.planner` checks it against the fleet)."""
    migration = parse_model(doc, ManifestFile).migration
    if migration.id != migration_id:
        raise InputErrors([doc.error(("migration", "id"), f"must equal the folder name {migration_id!r}")])
    if migration.target is MigrationTarget.PLATFORM:
        if migration.database not in PLATFORM_DATABASES:
            raise InputErrors([doc.error(("migration", "database"), f"{migration.database!r} is not a platform "
                                         f"database ({', '.join(PLATFORM_DATABASES)})")])
    elif migration.database != CELL_DATABASE:
        raise InputErrors([doc.error(("migration", "database"),
                                     f"{migration.database!r} is not the cells' database {CELL_DATABASE!r}")])
    elif migration.engine is not None:
        raise InputErrors([doc.error(("migration", "engine"), "a cells migration takes each cell's engine from "
                                     "its cell file; `engine` is for `target: platform` only")])
    return migration
