"""The one YAML serialisation of generated Kubernetes objects: block style, sorted keys, deterministic."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # long values (JSON in annotations) stay on one line
    return yaml


def dump(document: Any) -> str:
    """One object as YAML text (same data, same bytes)."""
    stream = io.StringIO()
    _yaml().dump(_sorted(document), stream)
    return stream.getvalue()


def dump_all(documents: Iterable[Any]) -> str:
    """Several objects as one multi-document YAML stream."""
    stream = io.StringIO()
    _yaml().dump_all([_sorted(d) for d in documents], stream)
    return stream.getvalue()
