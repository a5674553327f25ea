"""Fleet-level composite alarms, one tree per issue type: any cell's alarm of that type fires it, and it pages once.

A rule may name at most `MAX_CHILDREN` alarms in at most `MAX_RULE_CHARS` characters
(PutCompositeAlarm), so the cells' alarms are split into parts (composites that never page) and
the issue type's alarm is the OR of its parts, level upon level until one rule holds them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from model.contract import IssueType, cell_issue_alarm, fleet_alarm
from observability.alerts import ALERTS
from observability.settings import ObservabilitySettings
from observability.views import GlobalView

MAX_RULE_CHARS = 10_240
MAX_CHILDREN = 100
MAX_DESCRIPTION = 1024


@dataclass(frozen=True)
class CompositeSpec:
    """One composite alarm: name, rule, description; `pages` for the top of an issue type's tree."""

    name: str
    rule: str
    description: str
    pages: bool
    children: tuple[str, ...]


def alarm_rule(children: Sequence[str]) -> str:
    """`ALARM("a") OR ALARM("b") …` (alarm names are validated to `[a-z0-9-]`, no quoting needed)."""
    return " OR ".join(f'ALARM("{name}")' for name in children)


def _parts(children: Sequence[str]) -> list[tuple[str, ...]]:
    """Children split greedily into rules under both limits, order kept."""
    parts: list[tuple[str, ...]] = []
    current: list[str] = []
    length = 0  # len(alarm_rule(current)), kept as names are added
    for name in children:
        added = len(alarm_rule([name])) + (len(" OR ") if current else 0)
        if current and (len(current) == MAX_CHILDREN or length + added >= MAX_RULE_CHARS):
            parts.append(tuple(current))
            current, length, added = [], 0, len(alarm_rule([name]))
        current.append(name)
        length += added
    if current:
        parts.append(tuple(current))
    return parts


def _description(issue: IssueType, settings: ObservabilitySettings, cells: int) -> str:
    alert = ALERTS[issue]
    text = (f"Fleet alert: {alert.title.lower()} ({alert.threshold:g} {alert.unit}) in one or more of {cells} cells. "
            f"The triggering child alarms name the cells (cell-<cell_id>-{issue.value}). "
            f"Runbook: {settings.runbook_base.rstrip('/')}/{issue.value}?cell_id=<cell_id>")
    return text[:MAX_DESCRIPTION]


def issue_composites(issue: IssueType, cell_ids: Sequence[str], settings: ObservabilitySettings) -> list[CompositeSpec]:
    """The tree of one issue type, leaves first; the last spec is the one that pages."""
    description = _description(issue, settings, len(cell_ids))
    specs: list[CompositeSpec] = []
    level = [cell_issue_alarm(issue, c) for c in cell_ids]
    while len(parts := _parts(level)) > 1:
        names = []
        for part in parts:
            name = fleet_alarm(issue, len(specs) + 1)
            specs.append(CompositeSpec(name=name, rule=alarm_rule(part), description=f"Part of {fleet_alarm(issue)}. "
                                       + description, pages=False, children=part))
            names.append(name)
        level = names
    specs.append(CompositeSpec(name=fleet_alarm(issue), rule=alarm_rule(parts[0]), description=description,
                               pages=True, children=parts[0]))
    return specs


def fleet_composites(view: GlobalView, settings: ObservabilitySettings) -> list[CompositeSpec]:
    """Every issue type's composite tree over every cell of the fleet, in deploy order."""
    ids = [c.cell_id for c in view.cells]
    return [spec for issue in IssueType for spec in issue_composites(issue, ids, settings)]
