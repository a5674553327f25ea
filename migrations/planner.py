"""Check a manifest against the fleet and resolve it into a plan: phases -> ordered steps of cells.

`rollout: standard` takes the wave planner's waves (pipelines.waves), never re-deriving them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath

from model.cells import Engine, Fleet, Tier
from model.errors import InputError, InputErrors
from model.manifest import (
    MIGRATIONS_DIR,
    PHASE_TYPES,
    Migration,
    MigrationTarget,
    Phase,
    PhaseName,
    PhaseType,
    RolloutStep,
)
from model.selectors import pick
from model.yamldoc import Document
from pipelines.waves import Plan

DEFAULT_CHECKPOINT_INTERVAL = 10_000
PLATFORM = MigrationTarget.PLATFORM.value  # the one "cell" of a platform plan
# A platform migration has no cell isolation (one Aurora Global Database primary): longer bakes, and a
# person approves every schema change.
PLATFORM_WAITS = {
    PhaseName.EXPAND: timedelta(days=2),
    PhaseName.MIGRATE_CODE: timedelta(days=2),
    PhaseName.BACKFILL: timedelta(days=1),
    PhaseName.MIGRATE_CODE_READONLY: timedelta(weeks=1),
    PhaseName.CONTRACT: timedelta(weeks=1),
}
PLATFORM_APPROVALS = frozenset({PhaseName.EXPAND, PhaseName.CONTRACT})
SCRIPT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Step:
    """Cells that run a phase together; an approval gates the start, the wait follows the end."""

    index: int
    label: str
    cells: tuple[str, ...]
    wait: timedelta = timedelta(0)
    approval: bool = False
    concurrency: int = 0  # max cells at once; 0 = all of the step
    wave: str | None = None  # the wave a `rollout: standard` step comes from
    one_at_a_time: bool = False  # one step per cell of a one-at-a-time wave (each bakes, each approved)

    @property
    def batches(self) -> int:
        size = self.concurrency or len(self.cells)
        return -(-len(self.cells) // size)


@dataclass(frozen=True)
class PhasePlan:
    name: PhaseName
    type: PhaseType
    steps: tuple[Step, ...]
    scripts: dict[Engine, str] = field(default_factory=dict)
    version: str | None = None
    previous_version: str | None = None
    checkpoint_interval: int | None = None
    parallel_cells: int | None = None

    @property
    def cells(self) -> tuple[str, ...]:
        return tuple(c for s in self.steps for c in s.cells)

    def step_of(self, cell_id: str) -> Step:
        return _step_index(self.steps)[cell_id]


def _step_index(steps: tuple[Step, ...]) -> dict[str, Step]:
    return {c: s for s in steps for c in s.cells}


@dataclass(frozen=True)
class MigrationPlan:
    migration: Migration
    source: str
    phases: tuple[PhasePlan, ...]
    engines: dict[str, Engine]
    tiers: dict[str, Tier]  # empty for a platform migration
    deploy_estimate: timedelta
    texts: Mapping[str, str] = field(default_factory=dict)  # script path (from the fleet root) -> its text

    @property
    def id(self) -> str:
        return self.migration.id

    @property
    def cells(self) -> tuple[str, ...]:
        """Every cell of the migration, in the order of its first phase."""
        return self.phases[0].cells

    def phase(self, name: PhaseName | str) -> PhasePlan:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(str(name))

    def index(self, name: PhaseName | str) -> int:
        return [p.name for p in self.phases].index(PhaseName(name))

    @property
    def platform(self) -> bool:
        """A platform migration: one global database, the blast radius is the whole platform."""
        return self.migration.target is MigrationTarget.PLATFORM

    @property
    def engines_used(self) -> tuple[Engine, ...]:
        return tuple(e for e in Engine if e in self.engines.values())


class _Checker:
    """Collects errors located in the manifest while the plan is built."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.errors: list[InputError] = []

    def add(self, loc: tuple[str | int, ...], message: str, field: str | None = None) -> None:
        self.errors.append(self.doc.error(("migration", "phases", *loc), message, field))


def _check_order(phases: tuple[Phase, ...], check: _Checker) -> None:
    names = [p.name for p in phases]
    seen: set[PhaseName] = set()
    for i, phase in enumerate(phases):
        if phase.name in seen:
            check.add((i, "name"), f"duplicate phase {phase.name.value!r}")
        seen.add(phase.name)
        expected = PHASE_TYPES[phase.name]
        if phase.type is not expected:
            check.add((i, "type"), f"phase {phase.name.value!r} is a {expected.value} phase, not {phase.type.value}")
    if names[0] is not PhaseName.EXPAND:
        check.add((0, "name"), "the first phase must be 'expand'")
    before: dict[PhaseName, list[PhaseName]] = {
        PhaseName.BACKFILL: [PhaseName.MIGRATE_CODE],
        PhaseName.MIGRATE_CODE_READONLY: [PhaseName.MIGRATE_CODE, PhaseName.BACKFILL],
        PhaseName.CONTRACT: [PhaseName.MIGRATE_CODE_READONLY],
    }
    why = {
        PhaseName.MIGRATE_CODE: "the code that writes both columns",
        PhaseName.BACKFILL: "the backfill",
        PhaseName.MIGRATE_CODE_READONLY: "the code that reads only the new column",
    }
    for i, name in enumerate(names):
        for required in before.get(name, []):
            optional = required is PhaseName.BACKFILL
            if required in names[:i] or (optional and required not in names):
                continue
            check.add((i, "name"), f"{name.value!r} must come after {required.value!r} ({why[required]})")
    if PhaseName.CONTRACT in names and names[-1] is not PhaseName.CONTRACT:
        check.add((names.index(PhaseName.CONTRACT), "name"), "'contract' must be the last phase")


def _check_keys(i: int, phase: Phase, check: _Checker) -> None:
    kind = PHASE_TYPES[phase.name]
    needs = {
        PhaseType.SCHEMA: ("script", "rollout"),
        PhaseType.DEPLOYMENT: ("version", "rollout"),
        PhaseType.DATA: (),  # no script: the tool's declared backfill of `change`
    }[kind]
    for key in needs:
        if getattr(phase, key) is None:
            check.add((i,), f"a {kind.value} phase needs `{key}`", f"migration.phases[{i}].{key}")
    takes = {"script": kind is not PhaseType.DEPLOYMENT, "version": kind is PhaseType.DEPLOYMENT,
             "checkpoint_interval": kind is PhaseType.DATA}
    for key, allowed in takes.items():
        if not allowed and getattr(phase, key) is not None:
            check.add((i, key), f"a {kind.value} phase takes no `{key}`")


def _explicit_steps(i: int, rollout: tuple[RolloutStep, ...], fleet: Fleet, check: _Checker,
                    parallel: int | None) -> list[Step]:
    ids = list(fleet.ids)
    taken: dict[str, str] = {}
    steps: list[Step] = []
    for k, entry in enumerate(rollout):
        picked = pick(entry.cells, ids, taken, ids)
        for j, message in picked.problems:
            check.add((i, "rollout", k, "cells", j), message)
        if not picked.cells and not picked.problems:
            check.add((i, "rollout", k, "cells"), "selects no cell that an earlier step has not taken")
        taken.update(dict.fromkeys(picked.cells, f"step {k + 1}"))
        steps.append(Step(k, ", ".join(entry.cells), picked.cells, entry.wait, entry.requires_approval,
                          parallel or 0))
    left = [cid for cid in ids if cid not in taken]
    if left:
        check.add((i, "rollout"), f"cells in no step: {', '.join(left)}")
    return steps


def _standard_steps(phase: Phase, waves: Plan) -> list[Step]:
    """The wave plan as steps; one-at-a-time waves become one step per cell."""
    data = phase.type is PhaseType.DATA
    steps: list[Step] = []
    for wave in waves.waves:
        pol = wave.policy
        wait = timedelta(0) if data else pol.bake.max
        approval = pol.approval and not data
        if pol.one_at_a_time and not data:
            for cid in wave.cells:
                steps.append(Step(len(steps), f"{wave.name} ({cid})", (cid,), wait, approval, 1, wave.name, True))
            continue
        limit = phase.parallel_cells if data else min(pol.concurrency, phase.parallel_cells or pol.concurrency)
        steps.append(Step(len(steps), wave.name, wave.cells, wait, approval, limit or 0, wave.name))
    return steps


def script_problem(migration_id: str, path: str) -> str | None:
    """Why `path` cannot be a script of the migration: it must be a plain file name under its folder."""
    folder = f"{MIGRATIONS_DIR}/{migration_id}/"
    parts = PurePosixPath(path).parts
    if not path.startswith(folder) or len(parts) < 3 or not all(SCRIPT_NAME.match(p) for p in parts[2:]):
        return (f"{path!r} must be a file under {folder} named with letters, digits, '.', '_' and '-' "
                "(no '..', spaces or shell characters)")
    return None


def _scripts(i: int, phase: Phase, cells: tuple[str, ...], engines: Mapping[str, Engine], migration_id: str,
             texts: Mapping[str, str], check: _Checker) -> dict[Engine, str]:
    if phase.script is None or PHASE_TYPES[phase.name] is PhaseType.DEPLOYMENT:
        return {}
    used = [e for e in Engine if any(engines[c] is e for c in cells)]
    if isinstance(phase.script, str):
        scripts = dict.fromkeys(used, phase.script)
        locs: dict[Engine, tuple[str | int, ...]] = dict.fromkeys(used, (i, "script"))
    else:
        scripts = dict(phase.script)
        locs = {e: (i, "script", e.value) for e in scripts}
    for engine in used:
        if engine not in scripts:
            users = ", ".join(sorted(c for c in cells if engines[c] is engine))
            check.add((i, "script"), f"no script for {engine.value}, used by {users}")
    for engine, path in scripts.items():
        problem = script_problem(migration_id, path)
        if problem is not None:
            check.add(locs[engine], problem)
        elif path not in texts:
            check.add(locs[engine], f"script {path!r} does not exist")
        elif not texts[path].strip():
            check.add(locs[engine], f"script {path!r} is empty")
    return {e: scripts[e] for e in Engine if e in scripts}


def _contract_approvals(i: int, phase: Phase, steps: list[Step], fleet: Fleet, check: _Checker) -> None:
    for step in steps:
        enterprise = [c for c in step.cells if fleet.cell(c).is_enterprise]
        if enterprise and not step.approval:
            if isinstance(phase.rollout, tuple):
                loc: tuple[str | int, ...] = (i, "rollout", step.index)
                where = f"migration.phases[{i}].rollout[{step.index}].requires_approval"
            else:
                loc, where = (i, "rollout"), f"migration.phases[{i}].rollout"
            check.add(loc, f"enterprise cells in a contract step need requires_approval: true "
                           f"({', '.join(enterprise)})", where)


def _platform_steps(i: int, phase: Phase, check: _Checker) -> list[Step]:
    """The one step of a platform phase: the platform's longer default wait, approval for schema changes."""
    wait, approval = PLATFORM_WAITS[phase.name], phase.name in PLATFORM_APPROVALS
    if isinstance(phase.rollout, tuple):
        if len(phase.rollout) != 1 or phase.rollout[0].cells != (PLATFORM,):
            check.add((i, "rollout"), f"a platform migration has one step per phase, `cells: [{PLATFORM}]`")
            return []
        step = phase.rollout[0]
        wait, approval = step.wait or wait, step.requires_approval or approval
    return [Step(0, PLATFORM, (PLATFORM,), wait, approval, 1)]


def plan_migration(migration: Migration, doc: Document, fleet: Fleet, waves: Plan,
                   texts: Mapping[str, str]) -> MigrationPlan:
    """Resolve every phase into steps; InputErrors (located in the manifest) for every problem.

    `texts` holds the files of the migration's folder (path from the fleet root -> text).
    """
    check = _Checker(doc)
    platform = migration.target is MigrationTarget.PLATFORM
    engines = ({PLATFORM: migration.engine or Engine.AURORA_POSTGRESQL} if platform
               else {c.id: c.database.engine for c in fleet.cells})
    _check_order(migration.phases, check)
    phases: list[PhasePlan] = []
    previous_version: str | None = None
    for i, phase in enumerate(migration.phases):
        _check_keys(i, phase, check)
        rollout = phase.rollout
        if rollout is None and phase.type is PhaseType.DATA:
            rollout = "standard"
        steps: list[Step] = []
        if platform:
            steps = _platform_steps(i, phase, check)
        elif rollout == "standard":
            steps = _standard_steps(phase, waves)
        elif isinstance(rollout, tuple):
            parallel = phase.parallel_cells
            steps = _explicit_steps(i, rollout, fleet, check, parallel)
        cells = tuple(c for s in steps for c in s.cells)
        if phase.name is PhaseName.CONTRACT and not platform:
            _contract_approvals(i, phase, steps, fleet, check)
        scripts = _scripts(i, phase, cells, engines, migration.id, texts, check)
        checkpoint = phase.checkpoint_interval
        if phase.type is PhaseType.DATA and checkpoint is None:
            checkpoint = DEFAULT_CHECKPOINT_INTERVAL
        phases.append(PhasePlan(phase.name, phase.type, tuple(steps), scripts, phase.version,
                                previous_version if phase.type is PhaseType.DEPLOYMENT else None,
                                checkpoint, phase.parallel_cells))
        if phase.type is PhaseType.DEPLOYMENT and phase.version is not None:
            previous_version = phase.version
    if check.errors:
        raise InputErrors(check.errors)
    used = {path for phase in phases for path in phase.scripts.values()}
    return MigrationPlan(
        migration=migration,
        source=doc.shown,
        phases=tuple(phases),
        engines=engines,
        tiers={} if platform else {c.id: c.tier for c in fleet.cells},
        deploy_estimate=waves.policy.deploy_estimate,
        texts={path: text for path, text in texts.items() if path in used},
    )
