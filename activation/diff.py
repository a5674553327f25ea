"""Flag changes between two revisions, for the PR diff: state, stage, percent, who gains or loses it.

Pure: plans in, rows (and their Markdown) out; `fleet diff` loads both revisions' plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from activation.plans import PlannedFlag
from activation.schedule import active_index, stage_label
from model.flags import FlagPlan, FlagState


@dataclass(frozen=True)
class FlagChange:
    key: str
    change: str  # added | removed | changed
    state: tuple[str, str]
    stage: tuple[str, str]  # on the day
    percent: tuple[int, int]
    schedule: tuple[str, str]  # every stage: "2026-03-03 5%, ..."
    gaining: tuple[str, ...]  # allowlisted now, not before (or un-denylisted)
    losing: tuple[str, ...]


def _state(plan: FlagPlan | None) -> str:
    return "-" if plan is None else plan.state.value


def _percent(plan: FlagPlan | None, at: date) -> int:
    if plan is None or plan.state is FlagState.DISABLED:
        return 0
    index = active_index(plan, at)
    return 0 if index is None else plan.share(plan.stages[index])


def _stage(plan: FlagPlan | None, at: date) -> str:
    return "-" if plan is None else stage_label(plan, active_index(plan, at))


def _schedule(plan: FlagPlan | None) -> str:
    if plan is None:
        return "-"
    return ", ".join(f"{plan.stage_start(s).isoformat()} {plan.share(s)}%" for s in plan.stages) or "no stages"


def _favoured(plan: FlagPlan | None) -> set[str]:
    """Customers the plan always turns it on for (the allowlist of a live flag)."""
    return set() if plan is None or plan.state is FlagState.DISABLED else set(plan.allowlist)


def _excluded(plan: FlagPlan | None) -> set[str]:
    return set() if plan is None else set(plan.denylist)


def flag_changes(before: Sequence[PlannedFlag], after: Sequence[PlannedFlag], at: date) -> list[FlagChange]:
    """One row per flag that differs between the two revisions (sorted by key)."""
    old = {f.key: f.plan for f in before}
    new = {f.key: f.plan for f in after}
    rows = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        named = _favoured(a) | _excluded(a) | _favoured(b) | _excluded(b)
        gaining = sorted(c for c in named if c in _favoured(b) and c not in _favoured(a))
        gaining += sorted(c for c in named if c in _excluded(a) and c not in _excluded(b) and c not in gaining)
        losing = sorted(c for c in named if c in _favoured(a) and c not in _favoured(b))
        losing += sorted(c for c in named if c in _excluded(b) and c not in _excluded(a) and c not in losing)
        rows.append(FlagChange(
            key=key,
            change="added" if a is None else "removed" if b is None else "changed",
            state=(_state(a), _state(b)),
            stage=(_stage(a, at), _stage(b, at)),
            percent=(_percent(a, at), _percent(b, at)),
            schedule=(_schedule(a), _schedule(b)),
            gaining=tuple(gaining),
            losing=tuple(losing),
        ))
    return rows


def render_flag_changes(rows: Sequence[FlagChange], at: date) -> str:
    """The PR comment's section on flags (empty when no flag changes)."""
    if not rows:
        return ""
    lines = [f"### Feature flags ({len(rows)} changed; on {at.isoformat()})", "",
             "| flag | change | state | percent | stage | schedule | customers gaining | customers losing |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def pair(values: tuple[object, object], suffix: str = "") -> str:
            return f"{values[0]}{suffix}" if values[0] == values[1] else f"{values[0]}{suffix} → {values[1]}{suffix}"

        lines.append(f"| `{r.key}` | {r.change} | {pair(r.state)} | {pair(r.percent, '%')} | {pair(r.stage)} | "
                     f"{pair(r.schedule)} | {', '.join(r.gaining) or '-'} | {', '.join(r.losing) or '-'} |")
    return "\n".join(lines) + "\n"
