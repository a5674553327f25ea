"""Build step `pipeline`: the state machines, their IAM policy and the plan (JSON + Mermaid)."""

from __future__ import annotations

import json

from fleet.build import BuildStep, StepResult
from fleet.errors import InputErrors
from fleet.model import Fleet
from pipelines.asl import dumps
from pipelines.definitions import definitions
from pipelines.iam import definitions_policy
from pipelines.policy import policy_document
from pipelines.render import plan_json, plan_mermaid
from pipelines.targets import Targets
from pipelines.waves import Plan, load_plan

STEP_NAME = "pipeline"


def load_pipeline_plan(fleet: Fleet) -> Plan:
    """The fleet's plan, refusing policy options the state machines do not implement."""
    plan = load_plan(fleet)
    doc = policy_document(fleet.root)
    errors = [
        doc.error(("waves", w.index, "failure_tolerance"),
                  "the pipeline rolls back on the first failure; only 0 is supported",
                  f"waves[{w.index}].failure_tolerance")
        for w in plan.waves if w.policy.failure_tolerance
    ]
    if errors:
        raise InputErrors(errors)
    return plan


def pipeline_files(plan: Plan, targets: Targets) -> dict[str, str]:
    """Relative path (under build/) -> text, for every pipeline artefact."""
    docs = definitions(plan, targets)
    files = {f"pipeline/{kind}.asl.json": dumps(doc) for kind, doc in docs.items()}
    files["pipeline/iam-policy.json"] = json.dumps(definitions_policy(docs, targets), sort_keys=True, indent=2) + "\n"
    files["pipeline/plan.json"] = plan_json(plan)
    files["pipeline/plan.mmd"] = plan_mermaid(plan)
    return files


def _run(fleet: Fleet) -> StepResult:
    plan = load_pipeline_plan(fleet)
    files = pipeline_files(plan, Targets())
    sizes = {k: len(v) for k, v in files.items() if k.endswith(".asl.json")}
    summary = [f"{len(plan.waves)} waves, {len(plan.cell_order)} cells; "
               + ", ".join(f"{k.split('/')[-1]} {v:,} B" for k, v in sorted(sizes.items()))]
    return StepResult(files=files, summary=summary)


def pipeline_step() -> BuildStep:
    """Build step writing `pipeline/*.asl.json`, `pipeline/iam-policy.json`, `pipeline/plan.{json,mmd}`."""
    return BuildStep(name=STEP_NAME, run=_run)
