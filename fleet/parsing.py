"""Validate parsed YAML into pydantic models, turning failures into InputErrors."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from fleet.errors import InputError, InputErrors
from fleet.yamlio import Document, Loc, dotted

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


class Strict(BaseModel):
    """Base of every input model: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's internal location parts (union members, validator names)."""
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in p and not p.startswith("function-")))


def error_message(err: Any) -> str:
    kind = err.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def validation_errors(
    exc: ValidationError, doc: Document, prefix: Loc = (), fallback: Document | None = None
) -> list[InputError]:
    """One InputError per pydantic error, located in `doc` (or `fallback` when only there)."""
    out: list[InputError] = []
    for err in exc.errors():
        loc = (*prefix, *clean_loc(tuple(err["loc"])))
        where = doc
        if fallback is not None and not doc.has(loc) and fallback.has(loc):
            where = fallback
        out.append(InputError(where.shown, where.line_of(loc), dotted(loc), error_message(err)))
    return out


def parse_model(doc: Document, model: type[M], data: Any = None, *, context: dict[str, Any] | None = None) -> M:
    """Validate `data` (default: the document's data) as `model`, or raise InputErrors."""
    payload = doc.data if data is None else data
    if not isinstance(payload, dict):
        raise InputErrors([InputError(doc.shown, doc.line_of(()), "(file)", "expected a mapping at the top level")])
    try:
        return model.model_validate(payload, context=context)
    except ValidationError as exc:
        raise InputErrors(validation_errors(exc, doc)) from None
