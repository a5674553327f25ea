"""`load_inputs(root)`: read every input of a fleet repository once, report every problem at once.

The only place that reads the inputs: cell files and tier defaults, the rollout policy (or the
packaged default), the routes config, migration manifests and their scripts. What comes back
is typed and validated; every capability works from it and reads nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TypeVar

from activation.plans import PlannedFlag
from fleet.files import display_path, load_document, read_text, yaml_files
from fleet.flag_inputs import load_flags
from migrations.planner import MigrationPlan, plan_migration
from model.cells import Fleet
from model.errors import InputError, InputErrors, option_error
from model.fleet import CELLS_DIR, DEFAULTS_FILE, parse_fleet
from model.manifest import MANIFEST_FILE, MIGRATIONS_DIR, manifest_file, parse_manifest
from model.policy import DEFAULT_POLICY, POLICY_FILE, RolloutPolicy, parse_policy
from model.routes import ROUTES_FILE, RoutesFile, parse_routes
from model.yamldoc import Document, parse_document
from pipelines.waves import Plan, plan_waves

T = TypeVar("T")
MAX_MIGRATION_FILES = 64


@dataclass(frozen=True)
class FleetInputs:
    """Everything a fleet repository declares, validated, with the wave plan every capability shares."""

    fleet: Fleet
    policy: RolloutPolicy
    plan: Plan
    routes: RoutesFile
    migrations: tuple[MigrationPlan, ...]
    flags: tuple[PlannedFlag, ...] = ()  # activation plans, flags/*.yaml


def load_fleet(root: Path) -> Fleet:
    """Only the cells (for commands and stack programs that need nothing else)."""
    folder = root / CELLS_DIR
    if not folder.is_dir():
        raise InputErrors([option_error("--root", "root", f"{root} has no {CELLS_DIR}/ folder: not a fleet repository")])
    defaults_path = folder / DEFAULTS_FILE
    # Every cell builds on the defaults: a broken defaults file is reported alone, not with each cell's fallout.
    defaults = load_document(defaults_path, root) if defaults_path.exists() else None
    docs, errors = _collect([partial(load_document, p, root) for p in yaml_files(folder)])
    try:
        fleet = parse_fleet(docs, defaults, display_path(folder, root))
    except InputErrors as exc:
        errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    return fleet


def policy_document(root: Path) -> Document:
    """The fleet's rollout policy, or the packaged default (the seed's policy) when it has none."""
    path = root / POLICY_FILE
    if path.exists():
        return load_document(path, root)
    text = resources.files("model").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")
    return parse_document(text, f"(default policy) {DEFAULT_POLICY}")


def load_plan(root: Path, fleet: Fleet) -> tuple[RolloutPolicy, Plan]:
    doc = policy_document(root)
    policy = parse_policy(doc)
    return policy, plan_waves(fleet, policy, doc)


def load_routes(root: Path) -> RoutesFile:
    return parse_routes(load_document(root / ROUTES_FILE, root))


def migration_ids(root: Path) -> list[str]:
    """Every migration folder with a manifest, sorted (ids start with their date)."""
    folder = root / MIGRATIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob(f"*/{MANIFEST_FILE}"))


def migration_texts(root: Path, migration_id: str) -> dict[str, str]:
    """Every file directly in the migration's folder (its scripts), by path from the fleet root."""
    folder = root / MIGRATIONS_DIR / migration_id
    texts: dict[str, str] = {}
    errors: list[InputError] = []
    files = sorted(p for p in folder.iterdir() if p.name != MANIFEST_FILE and not p.name.startswith("."))
    for path in files[:MAX_MIGRATION_FILES]:
        if path.is_dir():
            continue
        shown = display_path(path, root)
        try:
            texts[f"{MIGRATIONS_DIR}/{migration_id}/{path.name}"] = read_text(path, shown)
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    return texts


def load_migration(root: Path, migration_id: str, fleet: Fleet, plan: Plan) -> MigrationPlan:
    """One migration's plan against the fleet, with the SQL lint of its scripts."""
    from migrations.lint import lint_plan

    path = root / manifest_file(migration_id)
    if not path.is_file():
        shown = display_path(path, root)
        raise InputErrors([InputError(shown, 1, "(file)", f"no migration {migration_id!r}: {shown} does not exist")])
    doc = load_document(path, root)
    migration = parse_manifest(doc, migration_id)
    planned = plan_migration(migration, doc, fleet, plan, migration_texts(root, migration_id))
    findings = lint_plan(planned)
    if findings:
        raise InputErrors(findings)
    return planned


def load_inputs(root: Path) -> FleetInputs:
    """Read and validate every input under `root`; InputErrors with every problem found."""
    fleet = load_fleet(root)  # everything else is checked against the cells
    errors: list[InputError] = []
    planned, plan_errors = _collect([lambda: load_plan(root, fleet)])
    errors.extend(plan_errors)
    routes, route_errors = _collect([lambda: load_routes(root)])
    errors.extend(route_errors)
    migrations: list[MigrationPlan] = []
    if planned:
        migrations, migration_errors = _collect(
            [partial(load_migration, root, m, fleet, planned[0][1]) for m in migration_ids(root)])
        errors.extend(migration_errors)
    flags, flag_errors = _collect([lambda: load_flags(root, fleet)])
    errors.extend(flag_errors)
    if errors:
        raise InputErrors(errors)
    policy, plan = planned[0]
    return FleetInputs(fleet=fleet, policy=policy, plan=plan, routes=routes[0], migrations=tuple(migrations),
                       flags=flags[0])


def _collect(loaders: list[Callable[[], T]]) -> tuple[list[T], list[InputError]]:
    """Run every loader; what loaded, and the problems of those that did not."""
    loaded: list[T] = []
    errors: list[InputError] = []
    for load in loaders:
        try:
            loaded.append(load())
        except InputErrors as exc:
            errors.extend(exc.errors)
    return loaded, errors
