"""Validate parsed YAML into pydantic models: the one ValidationError -> `path:line: field: message` mapping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from model.errors import InputError, InputErrors
from model.yamldoc import Document, Loc, dotted

M = TypeVar("M", bound=BaseModel)
# Where a location is shown: the document's own line, or somewhere else (tier defaults).
Locator = Callable[[Loc], InputError | None]

_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


class Strict(BaseModel):
    """Base of every input model: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def union_tag(name: str) -> str:
    """A discriminated-union tag that never shows in error locations (see `clean_loc`)."""
    return f"<{name}>"


def clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's internal location parts (union members, union tags, validator names)."""
    return tuple(
        p for p in loc
        if isinstance(p, int) or ("[" not in p and not p.startswith(("function-", "<")))
    )


def error_message(err: Any) -> str:
    kind = err.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def validation_errors(exc: ValidationError, doc: Document, prefix: Loc = (), locate: Locator | None = None) -> list[InputError]:
    """One InputError per pydantic error, located in `doc`, or where `locate` says when it knows better."""
    out: list[InputError] = []
    for err in exc.errors():
        loc = (*prefix, *clean_loc(tuple(err["loc"])))
        message = error_message(err)
        found = locate(loc) if locate is not None and loc and not doc.has(loc) else None
        if found is not None:
            out.append(InputError(found.path, found.line, found.field, message))
        else:
            out.append(InputError(doc.shown, doc.line_of(loc), dotted(loc), message))
    return out


def parse_model(doc: Document, model: type[M], data: Any = None, *, locate: Locator | None = None) -> M:
    """Validate `data` (default: the document's data) as `model`, or raise InputErrors."""
    payload = doc.data if data is None else data
    if not isinstance(payload, dict):
        raise InputErrors([InputError(doc.shown, doc.line_of(()), "(file)", "expected a mapping at the top level")])
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InputErrors(validation_errors(exc, doc, locate=locate)) from None
