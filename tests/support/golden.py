"""Golden files: compare generated text with `tests/golden/...`; `UPDATE_GOLDEN=1` rewrites them."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
UPDATE_ENV = "UPDATE_GOLDEN"


def updating() -> bool:
    """True when golden files should be (re)written instead of compared."""
    return os.environ.get(UPDATE_ENV, "") not in {"", "0", "false", "no"}


def assert_golden(path: str | Path, text: str) -> None:
    """Assert `text` equals the golden file `path` (relative to tests/golden/ unless absolute).

    With UPDATE_GOLDEN=1 the file is written and the test passes; otherwise a missing or
    different file fails with a unified diff (golden -> actual).
    """
    target = Path(path) if Path(path).is_absolute() else GOLDEN_DIR / path
    if updating():
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        return
    if not target.exists():
        pytest.fail(f"golden file {target} is missing; run with {UPDATE_ENV}=1 to create it")
    expected = target.read_text(encoding="utf-8")
    if expected != text:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"golden/{target.relative_to(GOLDEN_DIR) if target.is_relative_to(GOLDEN_DIR) else target}",
                tofile="actual",
            )
        )
        pytest.fail(f"output differs from golden file (run with {UPDATE_ENV}=1 to accept):\n{diff}", pytrace=False)
