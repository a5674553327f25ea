"""JSONLogic rules for flagd, built as dicts: membership, scope, the split, the schedule.

Lists of ids are written as `{"merge": [...]}` because flagd's targeting schema admits no array
literal as an operand. The split is `fractional` with integer weights: on the customer id it is
the shorthand form, which flagd hashes as [flagKey, targetingKey] (salted per flag, so no
customer is first in line for every feature); on another field it is `{"var": field}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from activation.schedule import epoch
from model.flags import TARGETING_FIELD, FlagPlan, Scope, Stage

Rule = Any  # a JSONLogic expression: a dict, or a variant name


def var(name: str) -> dict[str, Any]:
    return {"var": name}


def member(field: str, values: Sequence[str]) -> dict[str, Any]:
    """True when the context's `field` is one of `values`."""
    return {"in": [var(field), {"merge": list(values)}]}


def when(condition: Rule, then: Rule, otherwise: Rule) -> dict[str, Any]:
    return {"if": [condition, then, otherwise]}


def since(day_start: int) -> dict[str, Any]:
    return {">=": [var("$flagd.timestamp"), day_start]}


def reference(name: str) -> dict[str, str]:
    return {"$ref": name}


def allowlist_evaluator(key: str) -> str:
    return f"{key}-allowlist"


def denylist_evaluator(key: str) -> str:
    return f"{key}-denylist"


def in_scope(scope: Scope) -> Rule | None:
    """The scope as a condition on the cell's context, or None for the whole fleet."""
    parts = []
    if scope.tiers:
        parts.append(member("tier", [t.value for t in scope.tiers]))
    if scope.cells:
        parts.append(member("cell_id", scope.cells))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"or": parts}


def split(plan: FlagPlan, stage: Stage) -> Rule:
    """The stage's weights: one variant when only one has weight, else `fractional` on the bucketing key."""
    weights = [(v, w) for v, w in plan.weights(stage) if w > 0]
    if len(weights) == 1:
        return weights[0][0]
    buckets = [[v, w] for v, w in weights]
    if plan.bucketing_key == TARGETING_FIELD:
        return {"fractional": buckets}
    return {"fractional": [var(plan.bucketing_key), *buckets]}


def stage_rule(plan: FlagPlan, stage: Stage) -> Rule:
    scope = plan.stage_scope(stage)
    condition = in_scope(scope) if scope != plan.scope else None
    rule = split(plan, stage)
    return rule if condition is None else when(condition, rule, plan.default)


def schedule(plan: FlagPlan) -> Rule:
    """Every stage, latest first, each from 00:00 UTC of its day: stages advance without a redeploy."""
    rule: Rule = plan.default
    for stage in plan.stages:
        rule = when(since(epoch(plan.stage_start(stage))), stage_rule(plan, stage), rule)
    return rule


def guarded(plan: FlagPlan, rollout: Rule, *, from_start: bool) -> Rule:
    """Denylist first, then the start day (when compiled in), the flag's scope and the allowlist."""
    rule: Rule = when(reference(allowlist_evaluator(plan.key)), plan.served, rollout) if plan.allowlist else rollout
    scope = in_scope(plan.scope)
    if scope is not None:
        rule = when(scope, rule, plan.default)
    if from_start:
        rule = when(since(epoch(plan.start)), rule, plan.default)
    if plan.denylist:
        rule = when(reference(denylist_evaluator(plan.key)), plan.default, rule)
    return rule
