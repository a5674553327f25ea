"""`fleet gitops status`: which release every cell runs according to the repository (Argo CD's view).

The rows are read back from the Applications' labels and `spec.info`, exactly what the Argo
CD UI and API show: rendered from the fleet's inputs, or read from a folder of Applications.
"""

from __future__ import annotations

import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fleet.files import load_document, yaml_files
from fleet.inputs import load_inputs
from fleet.options import REPO_ROOT, RootOption, emit
from gitops.labels import CELL_LABEL, RELEASE_LABEL, TIER_LABEL, WAVE_LABEL
from gitops.settings import GitOpsSettings
from gitops.status import CellStatus, fleet_status
from model.errors import InputError, InputErrors

stderr = Console(stderr=True)
gitops_app = typer.Typer(help="GitOps: the fleet's Argo CD Applications and the release of every cell.",
                         no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
REQUIRED_LABELS = (CELL_LABEL, TIER_LABEL, WAVE_LABEL, RELEASE_LABEL)


class StatusFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _read_applications(folder: Path) -> list[dict[str, Any]]:
    """Every Application in `folder` (one per file), or InputErrors naming what is missing."""
    if not folder.is_dir():
        raise InputErrors([InputError(str(folder), 1, "(file)", "no such folder of Applications")])
    found: list[dict[str, Any]] = []
    errors: list[InputError] = []
    for path in yaml_files(folder):
        doc = load_document(path)
        data = doc.data
        if not isinstance(data, dict) or data.get("kind") != "Application":
            errors.append(doc.error(("kind",) if isinstance(data, dict) and doc.has(("kind",)) else (),
                                    "expected an Argo CD Application", "kind"))
            continue
        labels = (data.get("metadata") or {}).get("labels") or {}
        missing = [key for key in REQUIRED_LABELS if not isinstance(labels.get(key), str)]
        source = (data.get("spec") or {}).get("source") or {}
        if missing:
            errors.append(doc.error(("metadata", "labels") if doc.has(("metadata", "labels")) else ("metadata",),
                                    f"missing label(s) {', '.join(missing)}", "metadata.labels"))
        elif not isinstance(source.get("targetRevision"), str):
            errors.append(doc.error(("spec",) if doc.has(("spec",)) else (), "missing spec.source.targetRevision",
                                    "spec.source.targetRevision"))
        else:
            found.append(data)
    if errors:
        raise InputErrors(errors)
    return found


def _table(rows: list[CellStatus]) -> Table:
    table = Table(title=f"GitOps: {len(rows)} cells, release per cell in the repository")
    products = sorted({p for row in rows for p in row.services})
    for column in ("cell", "tier", "wave", "release", "target revision", *products):
        table.add_column(column)
    for row in rows:
        table.add_row(row.cell_id, row.tier, row.wave, row.release, row.revision,
                      *(row.services.get(p, "") for p in products))
    return table


@gitops_app.command()
def status(
    root: RootOption = REPO_ROOT,
    applications: Annotated[Path | None, typer.Option(
        "--applications", file_okay=False,
        help="Read the Applications from this folder (e.g. build/argocd/applications) instead of rendering them.")] = None,
    output_format: Annotated[StatusFormat, typer.Option("--format", help="table or json.")] = StatusFormat.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Write the document here instead of stdout.")] = None,
) -> None:
    """Per cell: tier, wave, release and target revision, and the release of each service (spec.info)."""
    if applications is not None:
        docs = _read_applications(applications)
    else:
        # Rendering pulls in the cell module (Pulumi's SDK, ~1 s): only this path pays for it.
        from gitops.applications import cell_application

        inputs = load_inputs(root)
        settings = GitOpsSettings()
        docs = [cell_application(cell, inputs.plan, settings) for cell in inputs.fleet.cells]
    rows = fleet_status(docs)
    if output_format is StatusFormat.JSON:
        emit(json.dumps([row.as_dict() for row in rows], sort_keys=True, indent=2) + "\n", out)
        return
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(_table(rows))
    emit(console.export_text(), out)
    stderr.print(f"{len(rows)} cells, releases: {', '.join(sorted({r.release for r in rows}))}")
