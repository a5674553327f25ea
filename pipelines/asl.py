"""A small typed builder for Amazon States Language: state objects, a graph check, JSON-ready dicts.

Each state is a dataclass whose snake_case fields serialise to ASL's PascalCase keys
(`items_path` -> `ItemsPath`, `parameters` -> `Parameters`); `None` fields are left out.
`Graph.to_dict()` validates before emitting: unique names, `StartAt` and every `Next` /
`Default` / `Catch.Next` exist, every state is reachable, and every path ends (each state
either ends or goes on). Map processors are graphs themselves and are checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

JSON = dict[str, Any]

# Service integrations the state machines call (the IAM policy is derived from these).
INTEGRATION_PREFIX = "arn:aws:states:::"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
S3_GET = "arn:aws:states:::s3:getObject"  # a Distributed Map's ItemReader
SNS_WAIT = "arn:aws:states:::sns:publish.waitForTaskToken"
EVENTS_WAIT = "arn:aws:states:::events:putEvents.waitForTaskToken"
DDB_GET = "arn:aws:states:::dynamodb:getItem"
DDB_UPDATE = "arn:aws:states:::dynamodb:updateItem"
DESCRIBE_ALARMS = "arn:aws:states:::aws-sdk:cloudwatch:describeAlarms"
START_SYNC = "arn:aws:states:::states:startExecution.sync:2"
DDB_PUT = "arn:aws:states:::dynamodb:putItem"


_SPECIAL_KEYS = {"type_": "Type"}


class _Null:
    """Marks a field that must be emitted as JSON null (`"ResultPath": null` discards a result)."""

    def __repr__(self) -> str:
        return "NULL"


NULL = _Null()
JsonPath = str | _Null


def pascal(name: str) -> str:
    """`items_path` -> `ItemsPath`."""
    return _SPECIAL_KEYS.get(name) or "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class AslError(ValueError):
    """The graph would not be a valid state machine."""


@dataclass(frozen=True)
class Retry:
    error_equals: tuple[str, ...]
    interval_seconds: int = 1
    max_attempts: int = 5
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter_strategy: str | None = "FULL"


@dataclass(frozen=True)
class Catch:
    error_equals: tuple[str, ...]
    next: str
    result_path: JsonPath | None = "$.error"


@dataclass(frozen=True)
class State:
    """Fields every state has; subclasses add theirs. `next=None, end=False` means terminal type."""

    comment: str | None = field(default=None, kw_only=True)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def successors(self) -> list[str]:
        return [n for n in (getattr(self, "next", None),) if n]

    def is_terminal(self) -> bool:
        return bool(getattr(self, "end", False))

    def to_dict(self) -> JSON:
        out: JSON = {"Type": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == () or (f.name == "end" and value is False):
                continue  # unset fields are absent; a `Result: false` of a Pass state is kept
            out[pascal(f.name)] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, _Null):
        return None
    if isinstance(value, Graph):
        return value.to_dict()
    if isinstance(value, Retry | Catch | ChoiceRule):
        return {pascal(f.name): _plain(getattr(value, f.name)) for f in fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Pass(State):
    parameters: JSON | None = None
    result: Any = None
    result_path: JsonPath | None = None
    output_path: str | None = None
    next: str | None = None
    end: bool = False


@dataclass(frozen=True)
class Task(State):
    resource: str
    parameters: JSON | None = None
    result_selector: JSON | None = None
    result_path: JsonPath | None = None
    output_path: str | None = None
    timeout_seconds_path: str | None = None
    heartbeat_seconds_path: str | None = None
    retry: tuple[Retry, ...] = ()
    catch: tuple[Catch, ...] = ()
    next: str | None = None
    end: bool = False

    def successors(self) -> list[str]:
        return super().successors() + [c.next for c in self.catch]


@dataclass(frozen=True)
class ChoiceRule:
    """One branch of a Choice: a comparison dict (`{"Variable": …, "StringEquals": …}`, `And`, …) and Next."""

    condition: JSON
    next: str


@dataclass(frozen=True)
class Choice(State):
    choices: tuple[ChoiceRule, ...]
    default: str | None = None

    def successors(self) -> list[str]:
        return [c.next for c in self.choices] + ([self.default] if self.default else [])

    def to_dict(self) -> JSON:
        out: JSON = {"Type": "Choice", "Choices": [{**c.condition, "Next": c.next} for c in self.choices]}
        if self.default:
            out["Default"] = self.default
        if self.comment:
            out["Comment"] = self.comment
        return out


@dataclass(frozen=True)
class Wait(State):
    seconds_path: str | None = None
    seconds: int | None = None
    timestamp_path: str | None = None
    next: str | None = None
    end: bool = False


@dataclass(frozen=True)
class Map(State):
    """An inline Map, or with `item_reader` a Distributed Map (child executions, items read from S3)."""

    item_processor: Graph
    items_path: str | None = None
    item_reader: JSON | None = None
    item_selector: JSON | None = None
    max_concurrency: int | None = None
    max_concurrency_path: str | None = None
    result_selector: JSON | None = None
    result_path: JsonPath | None = None
    retry: tuple[Retry, ...] = ()
    catch: tuple[Catch, ...] = ()
    next: str | None = None
    end: bool = False

    def successors(self) -> list[str]:
        return super().successors() + [c.next for c in self.catch]

    def to_dict(self) -> JSON:
        out = super().to_dict()
        processor = self.item_processor.to_dict()
        config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if self.item_reader else {"Mode": "INLINE"}
        out["ItemProcessor"] = {"ProcessorConfig": config, **processor}
        if self.max_concurrency == 0:
            out["MaxConcurrency"] = 0
        return out


@dataclass(frozen=True)
class Succeed(State):
    def is_terminal(self) -> bool:
        return True


@dataclass(frozen=True)
class Fail(State):
    error: str | None = None
    cause: str | None = None
    error_path: str | None = None
    cause_path: str | None = None

    def is_terminal(self) -> bool:
        return True


@dataclass
class Graph:
    """States plus where to start: a state machine, or a Map's item processor."""

    start_at: str
    states: dict[str, State] = field(default_factory=dict)
    comment: str | None = None

    def add(self, name: str, state: State) -> str:
        if name in self.states:
            raise AslError(f"duplicate state name {name!r}")
        if len(name) > 80:
            raise AslError(f"state name longer than 80 characters: {name!r}")
        self.states[name] = state
        return name

    def all_names(self) -> list[str]:
        """Every state name, including those inside Map processors (ASL wants them unique overall)."""
        names: list[str] = []
        for name, state in self.states.items():
            names.append(name)
            if isinstance(state, Map):
                names.extend(state.item_processor.all_names())
        return names

    def validate(self) -> None:
        """Raise AslError unless names are unique, references exist, states are reachable, paths end."""
        names = self.all_names()
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise AslError(f"duplicate state names: {', '.join(duplicates)}")
        self._validate_graph()

    def _validate_graph(self) -> None:
        if self.start_at not in self.states:
            raise AslError(f"StartAt {self.start_at!r} is not a state")
        for name, state in self.states.items():
            nexts = state.successors()
            for target in nexts:
                if target not in self.states:
                    raise AslError(f"state {name!r} goes to unknown state {target!r}")
            has_next = bool(getattr(state, "next", None)) or isinstance(state, Choice)
            if state.is_terminal() == has_next:
                raise AslError(f"state {name!r} must either end or have a Next")
            if isinstance(state, Map):
                state.item_processor._validate_graph()
        reachable = self._reachable()
        unreachable = sorted(set(self.states) - reachable)
        if unreachable:
            raise AslError(f"unreachable states: {', '.join(unreachable)}")
        self._check_termination()

    def _reachable(self) -> set[str]:
        seen: set[str] = set()
        todo = [self.start_at]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(self.states[name].successors())
        return seen

    def _check_termination(self) -> None:
        """Every state must reach a terminal state (no loop without a way out)."""
        ends = {n for n, s in self.states.items() if s.is_terminal()}
        changed = True
        while changed:
            changed = False
            for name, state in self.states.items():
                if name not in ends and any(t in ends for t in state.successors()):
                    ends.add(name)
                    changed = True
        stuck = sorted(set(self.states) - ends)
        if stuck:
            raise AslError(f"states that never reach an end: {', '.join(stuck)}")

    def to_dict(self) -> JSON:
        self.validate()
        out: JSON = {"StartAt": self.start_at, "States": {n: s.to_dict() for n, s in self.states.items()}}
        if self.comment:
            out["Comment"] = self.comment
        return out

    def count_states(self) -> int:
        total = 0
        for state in self.states.values():
            total += 1
            if isinstance(state, Map):
                total += state.item_processor.count_states()
        return total



