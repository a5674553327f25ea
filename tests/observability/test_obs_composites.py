"""Fleet composite alarms: evaluated by a parser of the AlarmRule grammar written here.

No emulator evaluates composite rules (moto 5.2.5 does not even implement PutCompositeAlarm:
NotImplementedError), so the composites are checked as the control-plane program registers them
under Pulumi's mocks, and their rules are evaluated here:
a recursive-descent parser of CloudWatch's grammar (ALARM/OK/INSUFFICIENT_DATA of a name,
TRUE, FALSE, NOT, AND, OR, parentheses) over a map of alarm states.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import pytest

from fleet.inputs import load_inputs
from fleet.mocking import run_program
from fleet.options import REPO_ROOT
from fleet.stacks import control_plane_program
from model.contract import IssueType, cell_issue_alarm, fleet_alarm
from observability.alarms import MAX_CHILDREN, MAX_RULE_CHARS, CompositeSpec, fleet_composites, issue_composites
from observability.settings import ObservabilitySettings
from observability.views import GlobalView

TOKEN = re.compile(
    r'\s*(?:(?P<state>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*"(?P<name>[^"]+)"\s*\)'
    r"|(?P<word>TRUE|FALSE|NOT|AND|OR)\b|(?P<paren>[()]))"
)
Rule = Callable[[Mapping[str, str]], bool]


def parse_rule(text: str) -> tuple[Rule, list[str]]:
    """The rule as a function of alarm states, and every alarm it names (SyntaxError on anything else)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = TOKEN.match(text, pos)
        if not match:
            raise SyntaxError(f"unexpected text at {pos}: {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match["state"] + "\0" + match["name"] if kind == "name" else match[kind]))
        pos = match.end()
    names: list[str] = []
    at = 0

    def peek() -> str | None:
        return tokens[at][1] if at < len(tokens) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal at
        if at >= len(tokens) or (expected is not None and tokens[at][1] != expected):
            raise SyntaxError(f"expected {expected or 'more'} at token {at}")
        at += 1
        return tokens[at - 1]

    def expression() -> Rule:  # expression := term (OR term)*
        parts = [term()]
        while peek() == "OR":
            take("OR")
            parts.append(term())
        return lambda states: any(p(states) for p in parts)

    def term() -> Rule:  # term := factor (AND factor)*
        parts = [factor()]
        while peek() == "AND":
            take("AND")
            parts.append(factor())
        return lambda states: all(p(states) for p in parts)

    def factor() -> Rule:  # factor := NOT factor | ( expression ) | TRUE | FALSE | STATE("name")
        kind, value = take()
        if value == "NOT":
            inner = factor()
            return lambda states: not inner(states)
        if value == "(":
            inner = expression()
            take(")")
            return inner
        if value in {"TRUE", "FALSE"}:
            return lambda _states: value == "TRUE"
        if kind == "name":
            state, name = value.split("\0")
            names.append(name)
            return lambda states: states.get(name, "OK") == state
        raise SyntaxError(f"unexpected {value!r}")

    rule = expression()
    if at != len(tokens):
        raise SyntaxError(f"trailing tokens from {at}")
    return rule, names


def test_the_parser_follows_the_grammar() -> None:
    rule, names = parse_rule('ALARM("a") AND NOT (OK("b") OR FALSE)')
    assert names == ["a", "b"]
    assert rule({"a": "ALARM", "b": "ALARM"}) and not rule({"a": "ALARM"}) and not rule({"b": "ALARM"})
    for broken in ('ALARM("a") OR', 'ALARM(a)', '(ALARM("a")', 'ALARM("a") XOR ALARM("b")'):
        with pytest.raises(SyntaxError):
            parse_rule(broken)


def _fires(specs: list[CompositeSpec], rules: Mapping[str, Rule], cell_states: Mapping[str, str]) -> dict[str, bool]:
    """Evaluate every composite bottom-up (parts come first); the composites' own states feed their parents."""
    states = dict(cell_states)
    fired = {}
    for spec in specs:
        fired[spec.name] = rules[spec.name](states)
        states[spec.name] = "ALARM" if fired[spec.name] else "OK"
    return fired


def _check_tree(specs: list[CompositeSpec], issue: IssueType, cell_ids: list[str]) -> None:
    top = fleet_alarm(issue)
    assert [s.name for s in specs if s.pages] == [top] and specs[-1].name == top
    names = {s.name for s in specs}
    leaves = {cell_issue_alarm(issue, c) for c in cell_ids}
    named = []
    rules: dict[str, Rule] = {}
    for spec in specs:
        assert len(spec.rule) < MAX_RULE_CHARS and len(spec.description) <= 1024
        rules[spec.name], children = parse_rule(spec.rule)
        assert 0 < len(children) <= MAX_CHILDREN
        assert set(children) <= names | leaves
        named += [c for c in children if c in leaves]
    assert sorted(named) == sorted(leaves)  # every cell's alarm, exactly once
    assert not _fires(specs, rules, {})[top]  # none in ALARM fires none
    for cell_id in (cell_ids[0], cell_ids[len(cell_ids) // 2], cell_ids[-1]):
        fired = _fires(specs, rules, {cell_issue_alarm(issue, cell_id): "ALARM"})
        assert fired[top], cell_id
        other = next(i for i in IssueType if i is not issue)
        assert not _fires(specs, rules, {cell_issue_alarm(other, cell_id): "ALARM"})[top]


def test_sample_fleet_composites(view: GlobalView, settings: ObservabilitySettings,
                                 stack_alarms: dict[str, tuple[str, str, str]]) -> None:
    specs = fleet_composites(view, settings)
    ids = [c.cell_id for c in view.cells]
    for issue in IssueType:
        tree = [s for s in specs if s.name.startswith(fleet_alarm(issue))]
        _check_tree(tree, issue, ids)
        leaves = {n for s in tree for n in parse_rule(s.rule)[1] if not n.startswith(fleet_alarm(issue))}
        assert leaves <= set(stack_alarms)  # one owner of the names: the cell stacks create every child


def test_10000_cells_chunk_under_the_rule_limit(large_view: GlobalView, settings: ObservabilitySettings) -> None:
    ids = [c.cell_id for c in large_view.cells]
    for issue in IssueType:
        tree = issue_composites(issue, ids, settings)
        assert len(tree) > 2  # parts, then the one that pages
        _check_tree(tree, issue, ids)


def test_more_parts_than_one_rule_holds_adds_a_level(settings: ObservabilitySettings) -> None:
    ids = [f"cell-{i:05d}" for i in range(MAX_CHILDREN * MAX_CHILDREN + 1)]
    tree = issue_composites(IssueType.ERROR_RATE, ids, settings)
    _check_tree(tree, IssueType.ERROR_RATE, ids)
    top_children = parse_rule(tree[-1].rule)[1]
    assert all(c.startswith(fleet_alarm(IssueType.ERROR_RATE)) for c in top_children)


def test_control_plane_stack_pages_once_per_issue_type() -> None:
    inputs = load_inputs(REPO_ROOT)
    inventory = run_program(lambda: control_plane_program(inputs), stack="control-plane",
                            config={"cellfleet:account": "123456789012"})
    composites = {r.inputs["alarmName"]: r for r in inventory.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    assert set(composites) == {fleet_alarm(i) for i in IssueType}
    topic = next(t for t in inventory.of_type("aws:sns/topic:Topic") if t.inputs["name"] == ObservabilitySettings().paging_topic)
    assert all(c.inputs["alarmActions"] == [topic.state["arn"]] for c in composites.values())
    boards = {r.inputs["dashboardName"] for r in inventory.of_type("aws:cloudwatch/dashboard:Dashboard")}
    assert len(boards) == len(inputs.fleet.cells) + 1


def test_long_names_split_on_the_character_limit(settings: ObservabilitySettings) -> None:
    """Valid cell ids (<= 48 chars) hit the 100-children limit first; longer names exercise the 10,240-char one."""
    ids = [f"c{i:03d}-" + "x" * 180 for i in range(300)]
    tree = issue_composites(IssueType.ERROR_RATE, ids, settings)
    parts = [s for s in tree if not s.pages]
    assert all(len(parse_rule(s.rule)[1]) < MAX_CHILDREN for s in parts)  # split by length, not by count
    assert max(len(s.rule) for s in parts) > MAX_RULE_CHARS - 250  # each part filled up to the limit
    _check_tree(tree, IssueType.ERROR_RATE, ids)
