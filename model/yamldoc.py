"""YAML documents that remember where every key and item came from; parsed from text, never from disk.

Inputs are untrusted: anchors and aliases are refused (an alias bomb expands exponentially),
nesting is bounded, and every problem is an InputError with a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent, ScalarEvent

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


def _structure_problem(yaml: YAML, text: str) -> tuple[int, str] | None:
    """The first anchor, alias or too-deep nesting in `text`, from the event stream (linear time)."""
    depth = 0
    for event in yaml.parse(text):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            return line, "anchors and aliases are not allowed in fleet inputs"
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return line, f"nesting deeper than {MAX_DEPTH} levels"
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return None


def _bad_scalar_line(text: str) -> int:
    """The line of the first scalar whose value ruamel resolves but cannot construct."""
    for event in YAML(typ="rt", pure=True).parse(text):
        if isinstance(event, ScalarEvent) and event.implicit[0] and event.start_mark is not None:
            try:
                YAML(typ="rt", pure=True).load(event.value)
            except (ValueError, OverflowError, YAMLError):
                return int(event.start_mark.line) + 1
    return 1


def parse_document(text: str, shown: str, *, allow_empty: bool = False) -> Document:
    """Parse one YAML text; unparsable, unsafe or empty input raises InputErrors with a line."""
    yaml = YAML(typ="rt", pure=True)
    try:
        problem = _structure_problem(yaml, text)
        if problem is not None:
            raise InputErrors([InputError(shown, problem[0], "(file)", problem[1])])
        node = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem_text = exc.problem or exc.context or "invalid YAML"
        raise InputErrors([InputError(shown, line, "(file)", f"invalid YAML: {problem_text}")]) from None
    except YAMLError as exc:
        raise InputErrors([InputError(shown, 1, "(file)", f"invalid YAML: {exc}")]) from None
    except (ValueError, OverflowError) as exc:  # a scalar that resolves to a type but cannot be built (2025-02-30)
        raise InputErrors([InputError(shown, _bad_scalar_line(text), "(file)", f"invalid value: {exc}")]) from None
    if node is None and not allow_empty:
        raise InputErrors([InputError(shown, 1, "(file)", "file is empty")])
    return Document(shown=shown, node=node)
