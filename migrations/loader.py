"""Load a migration: manifest shape, plan against the fleet, and the SQL lint of its scripts."""

from __future__ import annotations

from fleet.errors import InputError, InputErrors
from fleet.model import Fleet
from migrations.lint import Finding, lint_sql
from migrations.manifest import load_manifest, migration_ids
from migrations.planner import MigrationPlan, plan_migration
from pipelines.waves import Plan


def lint_plan(plan: MigrationPlan, fleet: Fleet) -> list[Finding]:
    """Findings for every SQL script the plan runs, each linted for its engine and phase."""
    findings: list[Finding] = []
    for phase in plan.phases:
        for engine, path in phase.scripts.items():
            if not path.endswith(".sql"):
                continue
            text = (fleet.root / path).read_text(encoding="utf-8")
            findings.extend(lint_sql(text, engine, phase.name, path))
    return sorted(set(findings))


def load_migration(fleet: Fleet, migration_id: str, waves: Plan | None = None) -> MigrationPlan:
    """The validated plan of one migration; InputErrors with every problem (manifest and SQL)."""
    migration, doc = load_manifest(fleet.root, migration_id)
    plan = plan_migration(migration, doc, fleet, waves)
    findings = lint_plan(plan, fleet)
    if findings:
        raise InputErrors([f.as_error() for f in findings])
    return plan


def load_all(fleet: Fleet, waves: Plan | None = None) -> list[MigrationPlan]:
    """Every migration of the fleet root; all problems of all manifests at once."""
    plans: list[MigrationPlan] = []
    errors: list[InputError] = []
    for migration_id in migration_ids(fleet.root):
        try:
            plans.append(load_migration(fleet, migration_id, waves))
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    return plans
