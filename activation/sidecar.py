"""What a cell's workloads need to evaluate flags: a flagd sidecar synced from the published file.

The control plane publishes one flag file for the fleet; every cell's flagd sidecar syncs it
over HTTPS and serves it on localhost, so a change (or the kill switch) reaches every cell at
once, with no redeploy. The workloads use the flagd provider in in-process mode against the
sidecar's sync port and put the cell's identity in the global evaluation context (per request:
the customer id as targeting key and as `customer_id`). The Cell module maps these dicts to
its typed Kubernetes args.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from model.cells import Cell

EVAL_PORT = 8013  # flagd's gRPC/HTTP evaluation port
MANAGEMENT_PORT = 8014  # health (/healthz, /readyz) and metrics
SYNC_PORT = 8015  # flag sync for in-process providers
CONTEXT_ENV = {"cell_id": "CELLFLEET_CELL_ID", "tier": "CELLFLEET_TIER", "region": "CELLFLEET_REGION"}


def _https(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment or any(c.isspace() for c in url):
        raise ValueError(f"{url!r}: the flag source must be an https URL without query or fragment")
    return url


def flagd_sidecar(source_url: str, image: str) -> dict[str, Any]:
    """The flagd container (Kubernetes container spec, camelCase) that syncs the fleet's flag file."""
    probe = {"path": "/readyz", "port": MANAGEMENT_PORT}
    return {
        "name": "flagd",
        "image": image,
        "args": ["start", "--uri", _https(source_url)],
        "ports": [
            {"name": "flagd-eval", "containerPort": EVAL_PORT},
            {"name": "flagd-mgmt", "containerPort": MANAGEMENT_PORT},
            {"name": "flagd-sync", "containerPort": SYNC_PORT},
        ],
        "readinessProbe": {"httpGet": probe},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": MANAGEMENT_PORT}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
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
