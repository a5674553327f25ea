"""YAML documents that remember where every key and item came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from fleet.errors import InputError, InputErrors, display_path

Loc = Sequence[str | int]


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: plain data plus a line lookup for any location in it."""

    path: Path
    shown: str
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


def load_document(path: Path, root: Path | None = None, *, allow_empty: bool = False) -> Document:
    """Parse one YAML file; unparsable or empty files raise InputErrors with a line."""
    shown = display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputErrors([InputError(shown, 1, "(file)", f"cannot read: {exc}")]) from None
    yaml = YAML(typ="rt", pure=True)
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputErrors([InputError(shown, line, "(file)", f"invalid YAML: {problem}")]) from None
    except YAMLError as exc:
        raise InputErrors([InputError(shown, 1, "(file)", f"invalid YAML: {exc}")]) from None
    if node is None and not allow_empty:
        raise InputErrors([InputError(shown, 1, "(file)", "file is empty")])
    return Document(path=path, shown=shown, node=node)
