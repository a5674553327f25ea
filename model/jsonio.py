"""The one JSON serialisation of generated documents: sorted keys, two-space indent, a final newline."""

from __future__ import annotations

import json
from typing import Any


def dumps(document: Any) -> str:
    """Deterministic text of a document (same data, same bytes)."""
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


def compact(document: Any) -> str:
    """Deterministic one-line text (for values embedded in other documents)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
