"""The one jinja2 environment: undefined names fail (`StrictUndefined`), templates beside the code using them.

Templates are compiled when the module that uses them is imported, so rendering reads no file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template


def load_templates(folder: Path, names: tuple[str, ...], filters: Mapping[str, Callable[..., Any]] | None = None,
                   *, html: bool = False) -> dict[str, Template]:
    """Compile `names` from `folder`: HTML autoescaped; Markdown and text escaped by the callers' filters."""
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=html,  # noqa: S701 - on for HTML; Markdown and text are escaped by the callers' filters
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(filters or {})
    return {name: env.get_template(name) for name in names}
