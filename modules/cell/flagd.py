"""What a cell's workloads need to evaluate flags: a flagd sidecar synced from the published file.

The control plane publishes one flag file for the fleet; every cell's flagd sidecar syncs it
over HTTPS and serves it on localhost, so a change (or the kill switch) reaches every cell at
once, with no redeploy. The workloads use the flagd provider in in-process mode against the
sidecar's sync port and put the cell's identity in the global evaluation context (per request:
the customer id as targeting key and as `customer_id`). `workloads` adds both to every
Deployment of a cell whose file has `flags:` (a source URL and a digest-pinned flagd image).
"""

from __future__ import annotations

from typing import Any

from model.cells import Cell, FlagSync
from modules.cell.telemetry import observability_env

EVAL_PORT = 8013  # flagd's gRPC/HTTP evaluation port
MANAGEMENT_PORT = 8014  # health (/healthz, /readyz) and metrics
SYNC_PORT = 8015  # flag sync for in-process providers
CONTEXT_ENV = {"cell_id": "CELLFLEET_CELL_ID", "tier": "CELLFLEET_TIER", "region": "CELLFLEET_REGION"}


def _sync(cell: Cell) -> FlagSync:
    if cell.flags is None:
        raise ValueError(f"cell {cell.id} has no `flags:` (no flag file to sync)")
    return cell.flags


def flagd_sidecar(cell: Cell) -> dict[str, Any]:
    """The flagd container (Kubernetes container spec, camelCase) that syncs the flag file `cell.flags` names."""
    sync = _sync(cell)
    probe = {"path": "/readyz", "port": MANAGEMENT_PORT}
    return {
        "name": "flagd",
        "image": sync.flagd_image,
        "env": observability_env(cell, "flagd"),  # flagd's own logs and metrics carry the cell id too
        "imagePullPolicy": "Always",
        "args": ["start", "--uri", sync.source],
        "ports": [
            {"name": "flagd-eval", "containerPort": EVAL_PORT},
            {"name": "flagd-mgmt", "containerPort": MANAGEMENT_PORT},
            {"name": "flagd-sync", "containerPort": SYNC_PORT},
        ],
        "readinessProbe": {"httpGet": probe},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": MANAGEMENT_PORT}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def workload_env(cell: Cell) -> list[dict[str, str]]:
    """Environment of every workload container: the flagd provider's settings and the cell's identity."""
    settings = {
        "FLAGD_RESOLVER": "in-process",
        "FLAGD_HOST": "localhost",
        "FLAGD_SYNC_PORT": str(SYNC_PORT),
        "FLAGD_PORT": str(SYNC_PORT),  # providers older than FLAGD_SYNC_PORT read this in in-process mode
        CONTEXT_ENV["cell_id"]: cell.id,
        CONTEXT_ENV["tier"]: cell.tier.value,
        CONTEXT_ENV["region"]: cell.region,
    }
    return [{"name": k, "value": v} for k, v in sorted(settings.items())]
