"""The cells' flagd sidecar (deploy is not activate): wired by the Cell module, run under Pulumi's mocks.

A real flagd cannot run here (no container runtime), so these tests check the Kubernetes objects the
cell registers: the sidecar beside every product container, the provider's env and the cell's
identity for the evaluation context, and the one egress the sync needs.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleet.mocking import Inventory
from model.cells import Cell, Fleet
from modules.cell.flagd import CONTEXT_ENV, SYNC_PORT
from modules.cell.workloads import workload_manifests


def _pods(inventory: Inventory) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["template"]["spec"]
        for r in inventory.resources
        if r.type == "kubernetes:apps/v1:Deployment"
    }


@pytest.mark.parametrize("cell_id", ["canary-us-internal", "enterprise-us-hipaa"])
def test_every_deployment_runs_flagd_synced_from_the_published_file(
    sample_fleet: Fleet, inventories: dict[str, Inventory], cell_id: str
) -> None:
    cell = sample_fleet.cell(cell_id)
    assert cell.flags is not None
    pods = _pods(inventories[cell_id])
    assert sorted(pods) == sorted(f"{p.value}-service" for p in cell.services)
    for name, pod in pods.items():
        containers = {c["name"]: c for c in pod["containers"]}
        flagd = containers["flagd"]
        assert flagd["args"] == ["start", "--uri", cell.flags.source]
        assert flagd["image"] == cell.flags.flagd_image and "@sha256:" in flagd["image"]
        assert flagd["securityContext"]["readOnlyRootFilesystem"] is True
        assert flagd["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert SYNC_PORT in {p["containerPort"] for p in flagd["ports"]}
        (service,) = (c for n, c in containers.items() if n != "flagd")
        env = {e["name"]: e["value"] for e in service["env"]}
        assert (env["FLAGD_RESOLVER"], env["FLAGD_HOST"], env["FLAGD_SYNC_PORT"]) == ("in-process", "localhost", str(SYNC_PORT))
        identity = {key: env[var] for key, var in CONTEXT_ENV.items()}
        assert identity == {"cell_id": cell.id, "tier": cell.tier.value, "region": cell.region}, name


def _egress_rules(cell: Cell) -> list[dict[str, Any]]:
    return [
        rule
        for m in workload_manifests(cell)
        if m["kind"] == "NetworkPolicy"
        for rule in m["spec"].get("egress", [])
    ]


def test_the_sync_opens_https_out_of_the_vpc_only(sample_fleet: Fleet) -> None:
    cell = sample_fleet.cell("smb-eu-1")
    https = [r for r in _egress_rules(cell) if r["ports"] == [{"protocol": "TCP", "port": 443}]]
    assert https == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [str(cell.vpc_cidr)]}}],
                      "ports": [{"protocol": "TCP", "port": 443}]}]


def test_a_fleet_without_flags_runs_no_sidecar_and_opens_nothing(sample_fleet: Fleet) -> None:
    cell = sample_fleet.cell("smb-eu-1").model_copy(update={"flags": None})
    manifests = workload_manifests(cell)
    for m in manifests:
        if m["kind"] == "Deployment":
            (container,) = m["spec"]["template"]["spec"]["containers"]
            assert not any(e["name"].startswith("FLAGD_") for e in container["env"])
    assert all(r["ports"] != [{"protocol": "TCP", "port": 443}] for r in _egress_rules(cell))
