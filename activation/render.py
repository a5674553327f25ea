"""The flagd flag file of a fleet: every plan, with its schedule or the snapshot of one day.

Without a day the stages are compiled into targeting on `$flagd.timestamp` (the file that is
published); with a day the active stage is written out plainly (what the cells evaluate on that
day, for reviews, goldens and `fleet flags render --at`). Allowlists and denylists are
`$evaluators` shared by reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from activation.plans import PlannedFlag
from activation.schedule import active_index, active_stage, stage_label
from activation.targeting import (
    allowlist_evaluator,
    denylist_evaluator,
    guarded,
    member,
    schedule,
    stage_rule,
)
from model.flags import TARGETING_FIELD, FlagPlan, FlagState
from model.jsonio import dumps

FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json"
FLAG_SET_ID = "cellfleet"
FLAGS_FILE = "flags.json"  # under build/flags/ and at the published location


def flag_entry(plan: FlagPlan, at: date | None) -> dict[str, Any]:
    """One flag: state, variants, default, targeting (the whole schedule, or day `at`)."""
    metadata: dict[str, Any] = {"description": plan.description,
                                "release": ", ".join(f"{p.value} {v}" for p, v in sorted(plan.release.items()))}
    if at is None:
        targeting = guarded(plan, schedule(plan), from_start=True)
    elif at < plan.start:
        targeting = {}
    else:
        stage = active_stage(plan, at)
        targeting = guarded(plan, plan.default if stage is None else stage_rule(plan, stage), from_start=False)
        metadata["stage"] = stage_label(plan, active_index(plan, at))
    return {
        "state": "DISABLED" if plan.state is FlagState.DISABLED else "ENABLED",
        "variants": dict(plan.variants),
        "defaultVariant": plan.default,
        "targeting": targeting if isinstance(targeting, dict) else {"if": [True, targeting, plan.default]},
        "metadata": metadata,
    }


def flags_document(flags: Sequence[PlannedFlag], at: date | None = None) -> dict[str, Any]:
    """The flagd document for every flag (sorted by key)."""
    evaluators: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    for planned in sorted(flags, key=lambda f: f.key):
        plan = planned.plan
        entries[plan.key] = flag_entry(plan, at)
        if plan.allowlist:
            evaluators[allowlist_evaluator(plan.key)] = member(TARGETING_FIELD, sorted(plan.allowlist))
        if plan.denylist:
            evaluators[denylist_evaluator(plan.key)] = member(TARGETING_FIELD, sorted(plan.denylist))
    metadata = {"flagSetId": FLAG_SET_ID}
    if at is not None:
        metadata["version"] = at.isoformat()
    document: dict[str, Any] = {"$schema": FLAGD_SCHEMA, "flags": entries, "metadata": metadata}
    if evaluators:
        document["$evaluators"] = evaluators
    return document


def render_flags(flags: Sequence[PlannedFlag], at: date | None = None) -> str:
    """The flag file's text (deterministic JSON)."""
    return dumps(flags_document(flags, at))
