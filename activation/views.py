"""Operator views: per flag its stage, percent, scope, allowlist and gate state; and why one customer gets what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails

from activation.bucketing import bucket, variant_of
from activation.gate import Releases, exposures, lagging_cells
from activation.plans import PlannedFlag
from activation.provider import FlagFileProvider, evaluation_context
from activation.render import render_flags
from activation.schedule import active_index, stage_label
from model.cells import Cell
from model.flags import TARGETING_FIELD, FlagState


@dataclass(frozen=True)
class FlagStatus:
    key: str
    state: str
    stage: str
    percent: int
    scope: str
    allowlist: int
    lagging: tuple[str, ...]  # cells the day's exposure reaches without the release

    @property
    def gate(self) -> str:
        return "ready" if not self.lagging else f"blocked: {len(self.lagging)} cells lack the release"


def status_rows(flags: Sequence[PlannedFlag], releases: Releases, at: date) -> list[FlagStatus]:
    """One row per flag on day `at`."""
    rows = []
    for flag in sorted(flags, key=lambda f: f.key):
        plan = flag.plan
        index = active_index(plan, at)
        stage = None if index is None else plan.stages[index]
        lagging = sorted({c for part in exposures(flag, at) for c in lagging_cells(flag, part.cells, releases)})
        rows.append(FlagStatus(
            key=plan.key,
            state="killed" if plan.state is FlagState.DISABLED else ("before start" if at < plan.start else "enabled"),
            stage=stage_label(plan, index),
            percent=0 if stage is None or plan.state is FlagState.DISABLED else plan.share(stage),
            scope=(plan.scope if stage is None else plan.stage_scope(stage)).label(),
            allowlist=len(plan.allowlist),
            lagging=tuple(lagging),
        ))
    return rows


def render_status(rows: Sequence[FlagStatus], at: date, source: str) -> str:
    lines = [f"# flags on {at.isoformat()} (releases {source})",
             f"{'flag':<24} {'state':<12} {'percent':>7}  {'allowlist':>9}  {'scope':<24} {'gate':<32} stage"]
    for r in rows:
        lines.append(f"{r.key:<24} {r.state:<12} {r.percent:>6}%  {r.allowlist:>9}  {r.scope:<24} {r.gate:<32} {r.stage}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Explanation:
    """Which variant a customer gets on a day, flagd's reason, and ours in words."""

    flag: str
    customer: str
    cell: str | None
    at: date
    variant: str | None
    value: object
    reason: str
    why: str
    bucket: int | None


def explain(flag: PlannedFlag, customer: str, cell: Cell | None, at: date) -> Explanation:
    """Evaluate the day's flag file with flagd's evaluator for this customer (in `cell`), and say why."""
    plan = flag.plan
    provider = FlagFileProvider(render_flags([flag], at))
    context = evaluation_context(customer, *((cell.id, cell.tier.value, cell.region) if cell else ()))
    variant, value, reason = _resolve(provider, plan.key, plan.variants[plan.default], context)
    subject = _bucketing_value(customer, cell, plan.bucketing_key)
    slot = None if subject is None else bucket(plan.key, plan.bucketing_key, subject)
    return Explanation(plan.key, customer, cell.id if cell else None, at, variant, value, reason,
                       _why(flag, customer, cell, at, slot), slot)


def _resolve(provider: FlagFileProvider, key: str, default: object, context: EvaluationContext) -> tuple[str | None, object, str]:
    """Resolve with the call that matches the variants' type (flagd checks it); the default's value as fallback."""
    result: FlagResolutionDetails[Any]
    if isinstance(default, bool):
        result = provider.resolve_boolean_details(key, default, context)
    elif isinstance(default, int):
        result = provider.resolve_integer_details(key, default, context)
    elif isinstance(default, float):
        result = provider.resolve_float_details(key, default, context)
    else:
        result = provider.resolve_string_details(key, str(default), context)
    return result.variant, result.value, str(result.reason)


def _bucketing_value(customer: str, cell: Cell | None, field: str) -> str | None:
    """What the split hashes for this evaluation (None: the context lacks it, flagd serves the default)."""
    if field == TARGETING_FIELD:
        return customer
    return None if cell is None else cell.id


def _why(flag: PlannedFlag, customer: str, cell: Cell | None, at: date, slot: int | None) -> str:
    return _override(flag, customer, cell, at) or _stage_reason(flag, cell, at, slot)


def _override(flag: PlannedFlag, customer: str, cell: Cell | None, at: date) -> str | None:
    """What decides before any stage does: kill switch, denylist, start day, scope, allowlist."""
    plan = flag.plan
    reasons = (
        (plan.state is FlagState.DISABLED, "the flag is killed (state: disabled): everyone gets the code default"),
        (customer in plan.denylist, "denylisted"),
        (at < plan.start, f"before the flag's start ({plan.start.isoformat()})"),
        (cell is not None and cell.id not in flag.flag_cells, f"the cell is outside the flag's scope ({plan.scope.label()})"),
        (cell is None and not plan.scope.everywhere, f"no --cell given, and the flag is scoped to {plan.scope.label()}"),
        (customer in plan.allowlist, "allowlisted"),
    )
    return next((reason for applies, reason in reasons if applies), None)


def _stage_reason(flag: PlannedFlag, cell: Cell | None, at: date, slot: int | None) -> str:
    plan = flag.plan
    index = active_index(plan, at)
    if index is None:
        return "no stage has started yet"
    stage = plan.stages[index]
    label = stage_label(plan, index)
    if plan.stage_scope(stage) != plan.scope and (cell is None or cell.id not in flag.stage_cells[index]):
        return f"{label} applies to {plan.stage_scope(stage).label()} only"
    served = [v for v, w in plan.weights(stage) if w > 0]
    if len(served) == 1:
        return f"{label}: {served[0]} for everyone in scope"
    if slot is None:
        return f"{label}: no --cell given, so nothing to bucket on ({plan.bucketing_key}) -> {plan.default}"
    return f"{label}: bucket {slot} of 100 on {plan.bucketing_key} -> {variant_of(plan, stage, slot)}"
