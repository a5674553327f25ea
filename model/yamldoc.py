"""YAML documents that remember where every key and item came from; parsed from text, never from disk.

Inputs are untrusted: anchors and aliases are refused (an alias bomb expands exponentially),
nesting is bounded, and every problem is an InputError with a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)

from model.errors import InputError, InputErrors

Loc = Sequence[str | int]
MAX_DEPTH = 32


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: plain data plus a line lookup for any location in it."""

    shown: str  # the path as users see it in messages
    node: Any

    @property
    def data(self) -> Any:
        return to_plain(self.node)

    def line_of(self, loc: Loc) -> int:
        """1-based line of the deepest part of `loc` present in the file."""
        return _line_of(self.node, loc) or 1

    def has(self, loc: Loc) -> bool:
        node = self.node
        for part in loc:
            in_map = isinstance(node, CommentedMap) and part in node
            in_seq = isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node)
            if not (in_map or in_seq):
                return False
            node = node[part]
        return True

    def error(self, loc: Loc, message: str, field: str | None = None) -> InputError:
        return InputError(self.shown, self.line_of(loc), field or dotted(loc), message)


def dotted(loc: Loc) -> str:
    """`("services", "sms", "release")` -> `services.sms.release`; list items as `[i]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"


def _line_of(node: Any, loc: Loc) -> int | None:
    line: int | None = None
    if hasattr(node, "lc") and loc == ():
        return int(node.lc.line) + 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = int(node.lc.key(part)[0]) + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = int(node.lc.item(part)[0]) + 1
            node = node[part]
        else:
            break
    return line


def to_plain(node: Any) -> Any:
    """ruamel's commented containers -> dicts, lists and scalars."""
    if isinstance(node, CommentedMap):
        return {str(k) if not isinstance(k, str) else k: to_plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


# What YAML 1.2 reads as a timestamp (ruamel's resolver); the date and time must exist.
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2}):(\d{2})(?:\.\d*)?"
    r"(?:[ \t]*(?:Z|[-+]\d{1,2}(?::?\d{2})?))?)?$"
)


@dataclass
class _Frame:
    """A mapping or sequence being read from the event stream, and where in it the next node goes."""

    mapping: bool
    loc: tuple[str | int, ...]
    key: str | None = None
    index: int = -1
    expect_key: bool = True


def _timestamp_problem(value: str) -> str | None:
    match = _TIMESTAMP.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        return f"{value!r} is not a valid date or time ({exc})"
    return None


class _Walk:
    """The event stream, with the location of each node (for messages naming the field)."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []

    def place(self) -> tuple[tuple[str | int, ...], bool]:
        """Where the next node goes, and whether it is a mapping key."""
        if not self.stack:
            return (), False
        top = self.stack[-1]
        if top.mapping:
            return (top.loc if top.expect_key else (*top.loc, str(top.key))), top.expect_key
        top.index += 1
        return (*top.loc, top.index), False

    def done(self, value: str | None = None) -> None:
        """A node ended: a key was read, or a mapping's value is complete."""
        if self.stack and self.stack[-1].mapping:
            top = self.stack[-1]
            if top.expect_key:
                top.key = value
            top.expect_key = not top.expect_key


def _structure_problem(yaml: YAML, text: str) -> tuple[int, Loc, str] | None:
    """The first anchor, alias, tag, impossible date or too-deep nesting in `text`, from the events (linear time)."""
    walk = _Walk()
    for event in yaml.parse(text):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            return line, (), "anchors and aliases are not allowed in fleet inputs"
        if not isinstance(event, NodeEvent | CollectionEndEvent):
            continue
        if isinstance(event, CollectionEndEvent):
            walk.stack.pop()
            walk.done()
            continue
        loc, is_key = walk.place()
        tag = getattr(event, "tag", None)  # scalars and collections carry one; only `!!str` is harmless
        if tag is not None and not (isinstance(event, ScalarEvent) and tag == "tag:yaml.org,2002:str"):
            return line, loc, f"YAML tags ({tag}) are not allowed in fleet inputs"
        if isinstance(event, CollectionStartEvent):
            if len(walk.stack) >= MAX_DEPTH:
                return line, (), f"nesting deeper than {MAX_DEPTH} levels"
            walk.stack.append(_Frame(mapping=isinstance(event, MappingStartEvent), loc=loc))
        elif isinstance(event, ScalarEvent):
            problem = _timestamp_problem(event.value) if event.style is None and not is_key else None
            if problem is not None:
                return line, loc, problem
            walk.done(event.value)
    return None


def parse_document(text: str, shown: str, *, allow_empty: bool = False) -> Document:
    """Parse one YAML text; unparsable, unsafe or empty input raises InputErrors with a line."""
    return _parse_cached(text, shown, allow_empty)


@lru_cache(maxsize=4096)  # a 2,000-cell fleet at two revisions; bounded, as a document is a few KB
def _parse_cached(text: str, shown: str, allow_empty: bool) -> Document:
    # The same file text parses to the same document: a process that loads a fleet twice (diff, tests)
    # parses each unchanged file once. Documents are never modified after parsing.
    yaml = YAML(typ="rt", pure=True)
    try:
        problem = _structure_problem(yaml, text)
        if problem is not None:
            raise InputErrors([InputError(shown, problem[0], dotted(problem[1]), problem[2])])
        node = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem_text = exc.problem or exc.context or "invalid YAML"
        raise InputErrors([InputError(shown, line, "(file)", f"invalid YAML: {problem_text}")]) from None
    except (YAMLError, ValueError, OverflowError) as exc:  # a value the constructor refuses, found nowhere above
        raise InputErrors([InputError(shown, 1, "(file)", f"invalid YAML: {exc}")]) from None
    if node is None and not allow_empty:
        raise InputErrors([InputError(shown, 1, "(file)", "file is empty")])
    return Document(shown=shown, node=node)
