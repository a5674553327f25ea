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


def document_steps() -> list[BuildStep]:
    """Steps that render fleet-wide documents (pipeline, gateway, runbooks…); each capability adds its own here.

    They are cheap and need no Pulumi run, so `fleet diff` regenerates them at both revisions.
    """
    from landing_zone.gateway import gateway_step
    from migrations.build import runbooks_step
    from pipelines.build import pipeline_step

    return [gateway_step(), runbooks_step(), pipeline_step()]


def steps() -> list[BuildStep]:
    """Every build step in order: the per-cell inventories, then the documents."""
    from modules.cell.build import inventory_step

    return [inventory_step(), *document_steps()]


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
