"""`fleet build`: every generated artefact of the fleet, as an explicit list of renderer calls.

`render_documents` is pure (inputs and the day in, files out); `fleet diff` renders it at both
revisions. The cell inventories come from the diff's engine (`fleet.diff.cell_entries`: worker
processes over all cores, content-hash cache), converted to documents by `fleet.inventory`.

Both halves are cached by content, so a rebuild with nothing changed reads files and runs nothing:
the fleet-wide documents by the hash of the root's inputs, the running code and the day
(`fleet_documents`); each cell's document beside its cache entry, by the hash of the conversion code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path

from activation.gate import declared_releases
from activation.gate import gate as flags_gate
from activation.render import FLAGS_FILE, render_flags
from fleet import inventory
from fleet.balance import cell_costs
from fleet.diff import cell_entries
from fleet.inputs import FleetInputs, load_inputs
from fleet.inventory import cached_document, inventory_path, to_json
from fleet.inventory_cache import code_digest, load_inventory, tree_digest, write_atomic
from gitops.tree import gitops_files
from landing_zone.gateway import RENDERERS, render_all
from landing_zone.lifecycle import Action, compile_edge
from landing_zone.readiness import declared_support, gate
from migrations.runbook import render_runbook
from migrations.state import MigrationState
from model import jsonio
from model.errors import InputError, InputErrors
from model.jsonio import dumps
from pipelines.render import pipeline_files
from pipelines.targets import Targets
from statuspage.assemble import fleet_status
from statuspage.render import status_files

BUILD_INFO = "build.json"
BUILDS = "_builds"  # fleet-wide build records, in the inventory cache


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
class Documents:
    """The fleet-wide files of one build, its summary lines, and each cell's (id, tier, region) in fleet order."""

    files: dict[str, str]
    summary: list[str]
    cells: tuple[tuple[str, str, str], ...]


def fleet_documents(root: Path, at: date, cache: Path) -> Documents:
    """Every input under `root` checked and the fleet-wide documents rendered for day `at`.

    Served from the record of an earlier build of the same inputs by the same code for the same
    day when there is one: that build checked and rendered exactly this. Bad inputs raise
    InputErrors (and leave no record).
    """
    key = hashlib.sha256(f"{tree_digest(root)}\0{code_digest()}\0{at.isoformat()}".encode()).hexdigest()
    record = cache / BUILDS / f"{key}.json"
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        return Documents(dict(data["files"]), list(data["summary"]), tuple((c[0], c[1], c[2]) for c in data["cells"]))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass  # none yet, or unreadable: render
    inputs = load_inputs(root)
    rendered = render_documents(inputs, at)
    documents = Documents(rendered.files, rendered.summary,
                          tuple((c.id, c.tier.value, c.region) for c in inputs.fleet.cells))
    write_atomic(record, json.dumps({"files": documents.files, "summary": documents.summary,
                                     "cells": documents.cells}))
    return documents


@dataclass(frozen=True)
class Inventories:
    """`build/cells/<id>.json` files, each cell's resource count, and how many programs had to run."""

    files: dict[str, str]
    counts: dict[str, int]
    ran: int


@lru_cache(maxsize=1)
def _conversion() -> str:
    """The hash of the code turning a cache entry into a cell's document (a new one invalidates every document)."""
    code = b"\0".join(Path(module.__file__ or "").read_bytes() for module in (inventory, jsonio))
    return hashlib.sha256(code).hexdigest()[:16]


def _document(cache: Path, cell: str, entry: str) -> tuple[str, int] | str:
    """The cell's document text and resource count (cached beside its entry), or its program's error."""
    path = cache / cell / f"{entry}.{_conversion()}.doc.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["text"]), int(data["resources"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    cached = load_inventory(cache, cell, entry)
    if "error" in cached:
        return str(cached["error"])
    document = cached_document(cell, cached)
    text, count = to_json(document), int(document["resource_count"])
    write_atomic(path, json.dumps({"text": text, "resources": count}))
    return text, count


def build_inventories(root: Path, cells: Sequence[tuple[str, str, str]], cache: Path, *, jobs: int | None = None,
                      done: Callable[[str], None] | None = None) -> Inventories:
    """Every cell's inventory document under `root`, cached by content hash; a failing program is an input error.

    `cells`: (id, tier, region) as `Documents.cells`; the tier is the expected cost of its program.
    """
    ids = [cell for cell, _, _ in cells]
    entries, ran = cell_entries(root, ids, cache, jobs=jobs, costs=cell_costs({c: t for c, t, _ in cells}, []),
                                done=done)
    files: dict[str, str] = {}
    counts: dict[str, int] = {}
    failing: list[InputError] = []
    for cell in ids:
        found = _document(cache, cell, entries[cell])
        if isinstance(found, str):
            failing.append(InputError(f"cells/{cell}.yaml", 1, "program", found))
            continue
        files[inventory_path(cell)], counts[cell] = found
    if failing:
        raise InputErrors(failing)
    return Inventories(files=files, counts=counts, ran=ran)
