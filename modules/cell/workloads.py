"""The cell's Kubernetes workloads: plain-data manifests, and their registration through Pulumi.

`workload_manifests` is the one definition of what runs in a cell; the Pulumi component
registers exactly these manifests, and GitOps exports can serialise the same list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from model.cells import Cell, Product
from modules.cell.profiles import SIZES
from modules.cell.telemetry import observability_env

NAMESPACE = "product"
IMAGE_REPOSITORY = "ghcr.io/cellfleet"
HTTP_PORT = 8080
RUN_AS_USER = 10001
CPU_TARGET_PERCENT = 70

Manifest = dict[str, Any]


def _labels(cell: Cell, product: Product) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": f"{product.value}-service",
        "app.kubernetes.io/part-of": "cellfleet",
        "app.kubernetes.io/version": cell.services[product].release,
        "cellfleet.io/cell-id": cell.id,
    }


def _selector(product: Product) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"{product.value}-service"}


def _metadata(name: str, labels: Mapping[str, str]) -> Manifest:
    return {"name": name, "namespace": NAMESPACE, "labels": dict(labels)}


def _deployment(cell: Cell, product: Product) -> Manifest:
    service = cell.services[product]
    size = SIZES[cell.size]
    name = f"{product.value}-service"
    labels = _labels(cell, product)
    container = {
        "name": product.value,
        "image": f"{IMAGE_REPOSITORY}/{name}:{service.release}",
        "ports": [{"name": "http", "containerPort": HTTP_PORT}],
        "env": [
            {"name": "CELL_ID", "value": cell.id},
            {"name": "CELL_TIER", "value": cell.tier.value},
            {"name": "SERVICE", "value": product.value},
            # One release serves every API version it lists; the edge decides which is reachable.
            {"name": "API_VERSIONS", "value": ",".join(service.api_versions)},
            *observability_env(cell, product),
        ],
        "resources": {
            "requests": {"cpu": size.cpu_request, "memory": size.memory_request},
            "limits": {"cpu": size.cpu_limit, "memory": size.memory_limit},
        },
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {
            "httpGet": {"path": "/healthz/live", "port": "http"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, labels),
        "spec": {
            "replicas": size.replicas,
            "selector": {"matchLabels": _selector(product)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS_USER,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": _selector(product)},
                        }
                    ],
                },
            },
        },
    }


def _service(cell: Cell, product: Product) -> Manifest:
    name = f"{product.value}-service"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, _labels(cell, product)),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(product),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def _disruption_budget(cell: Cell, product: Product) -> Manifest:
    name = f"{product.value}-service"
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(name, _labels(cell, product)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _selector(product)}},
    }


def _autoscaler(cell: Cell, product: Product) -> Manifest:
    name = f"{product.value}-service"
    size = SIZES[cell.size]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(name, _labels(cell, product)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": size.replicas,
            "maxReplicas": size.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT},
                    },
                }
            ],
        },
    }


def workload_manifests(cell: Cell) -> list[Manifest]:
    """Every Kubernetes object of the cell as plain data: the namespace, then per product service
    a Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler (sorted by service)."""
    namespace: Manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "cellfleet.io/cell-id": cell.id,
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        },
    }
    out = [namespace]
    for product in sorted(cell.services, key=lambda p: p.value):
        out += [
            _deployment(cell, product),
            _service(cell, product),
            _disruption_budget(cell, product),
            _autoscaler(cell, product),
        ]
    return out


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig (JSON) that authenticates with `aws eks get-token`; no secret in it."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
        }
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": user}],
    }
    return json.dumps(config, sort_keys=True)


_RESOURCES: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
}


def _resource_name(prefix: str, manifest: Mapping[str, Any]) -> str:
    return f"{prefix}-{manifest['kind'].lower()}-{manifest['metadata']['name']}"


def register_workloads(
    name: str,
    manifests: Sequence[Mapping[str, Any]],
    kubeconfig_json: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[pulumi.CustomResource]:
    """Register `manifests` as typed Kubernetes resources through a provider bound to the cluster.

    `depends_on` (the node group) holds the workloads back until there are nodes to run them.
    """
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig_json,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
    created: list[pulumi.CustomResource] = []
    namespaces: list[pulumi.Resource] = []
    for manifest in manifests:
        cls = _RESOURCES[(manifest["apiVersion"], manifest["kind"])]
        opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(namespaces))
        resource = cls(
            _resource_name(name, manifest),
            metadata=manifest["metadata"],
            spec=manifest.get("spec"),
            opts=opts,
        )
        if manifest["kind"] == "Namespace":
            namespaces.append(resource)
        created.append(resource)
    return created
