"""Build step: one runbook per migration, `runbooks/<id>.md` under the build folder."""

from __future__ import annotations

from fleet.build import BuildStep, StepResult
from fleet.model import Fleet
from migrations.loader import load_all
from migrations.runbook import render_runbook, script_texts


def _run(fleet: Fleet) -> StepResult:
    files: dict[str, str] = {}
    summary: list[str] = []
    for plan in load_all(fleet):
        files[f"runbooks/{plan.id}.md"] = render_runbook(plan, script_texts(plan, fleet.root))
        summary.append(f"runbook {plan.id}: {len(plan.cells)} cells, {len(plan.phases)} phases")
    return StepResult(files=files, summary=summary)


def runbooks_step() -> BuildStep:
    return BuildStep(name="runbooks", run=_run)
