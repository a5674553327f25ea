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

from model.cells import Cell, Product, ServiceRelease
from modules.cell.flagd import flagd_sidecar, workload_env
from modules.cell.network_policies import namespace_policies
from modules.cell.profiles import DB_PORTS, SIZES
from modules.cell.subnets import subnet_cidrs
from modules.cell.telemetry import observability_env

NAMESPACE = "product"
IMAGE_REPOSITORY = "ghcr.io/cellfleet"
HTTP_PORT = 8080
RUN_AS_USER = 10001
CPU_TARGET_PERCENT = 70
DATABASE_CLIENT = {"cellfleet.io/database": "client"}  # pods given the database clients' security group
# Checkov's digest check, skipped only on a Deployment whose cell file gives no digest.
TAG_ONLY_SKIP = {"checkov.io/skip1": "CKV_K8S_43=no digest in the cell file for this release; the tag is used"}

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


def image_reference(name: str, service: ServiceRelease) -> str:
    """`repository/name:release`, pinned `@sha256:…` when the cell file gives the release's digest."""
    reference = f"{IMAGE_REPOSITORY}/{name}:{service.release}"
    return f"{reference}@{service.image_digest}" if service.image_digest else reference


def _deployment_metadata(name: str, labels: Mapping[str, str], service: ServiceRelease) -> Manifest:
    metadata = _metadata(name, labels)
    if service.image_digest is None:
        metadata["annotations"] = dict(TAG_ONLY_SKIP)
    return metadata


def _deployment(cell: Cell, product: Product) -> Manifest:
    service = cell.services[product]
    size = SIZES[cell.size]
    name = f"{product.value}-service"
    labels = _labels(cell, product)
    container = {
        "name": product.value,
        "image": image_reference(name, service),
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": HTTP_PORT}],
        "env": [
            {"name": "CELL_ID", "value": cell.id},
            {"name": "CELL_TIER", "value": cell.tier.value},
            {"name": "SERVICE", "value": product.value},
            # One release serves every API version it lists; the edge decides which is reachable.
            {"name": "API_VERSIONS", "value": ",".join(service.api_versions)},
            *observability_env(cell, name),
            *(workload_env(cell) if cell.flags else []),
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
        "metadata": _deployment_metadata(name, labels, service),
        "spec": {
            "replicas": size.replicas,
            "selector": {"matchLabels": _selector(product)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": {**labels, **DATABASE_CLIENT}},
                "spec": {
                    # The services call no Kubernetes API: no service-account token in the pods.
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS_USER,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container, *([flagd_sidecar(cell)] if cell.flags else [])],
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


def _network_policies(cell: Cell) -> list[Manifest]:
    private, public = subnet_cidrs(cell.vpc_cidr, cell.availability_zones)
    return namespace_policies(
        NAMESPACE,
        edge_cidrs=public,
        database_cidrs=private,
        http_port=HTTP_PORT,
        database_port=DB_PORTS[cell.database.engine],
        flag_sync_from=str(cell.vpc_cidr) if cell.flags else None,
    )


def database_security_group_policy(group_ids: Sequence[pulumi.Input[str]]) -> Manifest:
    """EKS security groups for pods: the database clients' pods get `group_ids` on their ENI."""
    return {
        "apiVersion": "vpc.amazonaws.com/v1beta1",
        "kind": "SecurityGroupPolicy",
        "metadata": {"name": "database-clients", "namespace": NAMESPACE},
        "spec": {"podSelector": {"matchLabels": dict(DATABASE_CLIENT)}, "securityGroups": {"groupIds": list(group_ids)}},
    }


def workload_manifests(cell: Cell) -> list[Manifest]:
    """Every Kubernetes object of the cell as plain data: the namespace and its NetworkPolicies, then
    per product service a Deployment (beside the service, a flagd sidecar when the cell file has
    `flags:`), Service, PodDisruptionBudget and HorizontalPodAutoscaler."""
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
    out = [namespace, *_network_policies(cell)]
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
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


def _custom_resource(resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> Any:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest.get("spec"),
        opts=opts,
    )


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
        opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(namespaces))
        cls = _RESOURCES.get((manifest["apiVersion"], manifest["kind"]))
        if cls is None:
            resource = _custom_resource(_resource_name(name, manifest), manifest, opts)
        else:
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
