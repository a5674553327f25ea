"""`fleet build`: every generated artefact of the fleet, as an explicit list of renderer calls.

`render_documents` is pure (inputs and the day in, files out); `fleet diff` renders it at both
revisions. The cell inventories come from the diff's engine (`fleet.diff.cell_inventories`: worker
processes over all cores, content-hash cache), converted to documents by `fleet.inventory`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from activation.gate import declared_releases
from activation.gate import gate as flags_gate
from activation.render import FLAGS_FILE, render_flags
from fleet.diff import cell_inventories
from fleet.inputs import FleetInputs
from fleet.inventory import cached_document, to_json
from fleet.preview import inventory_path
from gitops.tree import gitops_files
from landing_zone.gateway import RENDERERS, render_all
from landing_zone.lifecycle import Action, compile_edge
from landing_zone.readiness import declared_support, gate
from migrations.runbook import render_runbook
from migrations.state import MigrationState
from model.errors import InputError, InputErrors
from model.jsonio import dumps
from pipelines.render import pipeline_files
from pipelines.targets import Targets
from statuspage.assemble import fleet_status
from statuspage.render import status_files

BUILD_INFO = "build.json"


@dataclass(frozen=True)
class Rendered:
    """Files under build/ (relative path -> text) and one summary line per artefact kind."""

    files: dict[str, str]
    summary: list[str]


def render_documents(inputs: FleetInputs, at: date) -> Rendered:
    """The pipeline, the gateway configs for day `at` (after the readiness gate) and the runbooks."""
    files: dict[str, str] = {BUILD_INFO: dumps({"at": at.isoformat(), "cells": len(inputs.fleet.cells)})}
    summary: list[str] = []

    pipeline = pipeline_files(inputs.plan, Targets())
    files.update(pipeline)
    sizes = ", ".join(f"{path.split('/')[-1]} {len(text):,} B" for path, text in sorted(pipeline.items())
                      if path.endswith(".asl.json"))
    summary.append(f"pipeline: {len(inputs.plan.waves)} waves, {len(inputs.plan.cell_order)} cells; {sizes}")

    edge = compile_edge(inputs.routes, at)
    gate(inputs.routes, edge, declared_support(inputs.fleet), inputs.fleet.ids)
    files.update({f"gateway/{name}": text for name, text in render_all(edge).items()})
    counts = {a: sum(1 for r in edge.routes if r.action is a) for a in Action}
    summary.append(f"gateway: edge on {at.isoformat()}: {counts[Action.ROUTE]} routed, {counts[Action.GONE]} gone (410), "
                   f"{counts[Action.NONE]} not routed; targets: {', '.join(sorted(RENDERERS))}")

    flags_gate(inputs.flags, declared_releases(inputs.fleet))  # the published file compiles every stage in
    files[f"flags/{FLAGS_FILE}"] = render_flags(inputs.flags)
    summary.append(f"flags: {len(inputs.flags)} flags, the whole schedule -> flags/{FLAGS_FILE}")

    for migration in inputs.migrations:
        files[f"runbooks/{migration.id}.md"] = render_runbook(migration)
        summary.append(f"runbooks: {migration.id}: {len(migration.cells)} cells, {len(migration.phases)} phases")

    unrecorded = tuple((m, MigrationState(m.id)) for m in inputs.migrations)  # the build records no progress
    status = fleet_status(inputs.fleet, inputs.plan, datetime.combine(at, time(), UTC), migrations=unrecorded,
                          flags=inputs.flags)
    files.update({f"status/{name}": text for name, text in status_files(status).items()})
    summary.append(f"status: {status.state.label} (declared state), {len(inputs.fleet.cells)} cells in {len(status.waves)} waves")

    files.update(gitops_files(inputs.fleet, inputs.plan))
    summary.append(f"gitops: {len(inputs.fleet.cells)} Applications, rendered manifests and a RollingSync ApplicationSet "
                   f"of {len(inputs.plan.waves)} steps; workloads delivered by {inputs.fleet.cells[0].delivery.value}")
    return Rendered(files=files, summary=summary)


@dataclass(frozen=True)
class Inventories:
    """`build/cells/<id>.json` files, each cell's resource count, and how many programs had to run."""

    files: dict[str, str]
    counts: dict[str, int]
    ran: int


def build_inventories(root: Path, inputs: FleetInputs, cache: Path, *, jobs: int | None = None,
                      done: Callable[[str], None] | None = None) -> Inventories:
    """Every cell's inventory document under `root`, cached by content hash; a failing program is an input error."""
    ids = list(inputs.fleet.ids)
    cached, ran = cell_inventories(root, ids, cache, jobs=jobs, done=done)
    failing = [InputError(f"cells/{cell}.yaml", 1, "program", str(cached[cell]["error"])) for cell in ids
               if "error" in cached[cell]]
    if failing:
        raise InputErrors(failing)
    documents = {cell: cached_document(cell, cached[cell]) for cell in ids}
    return Inventories(files={inventory_path(cell): to_json(doc) for cell, doc in documents.items()},
                       counts={cell: int(doc["resource_count"]) for cell, doc in documents.items()}, ran=ran)
