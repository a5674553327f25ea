"""`fleet build`: every generated artefact of the fleet, written under one output folder.

Each capability contributes one step: a pure function from the loaded inputs to
files (relative path -> text) and summary rows. Only `write_build` does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fleet.model import Fleet


@dataclass(frozen=True)
class StepResult:
    """What one build step produced: files under build/ and lines for the summary."""

    files: dict[str, str]
    summary: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BuildStep:
    name: str
    run: Callable[[Fleet], StepResult]


def steps() -> list[BuildStep]:
    """The build steps in order; each capability registers its own here."""
    from modules.cell.build import inventory_step

    return [inventory_step()]


def write_build(fleet: Fleet, out: Path) -> list[tuple[str, StepResult]]:
    """Run every step and write its files under `out`; return the results for the summary."""
    results = []
    for step in steps():
        result = step.run(fleet)
        for relative, text in sorted(result.files.items()):
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        results.append((step.name, result))
    return results
