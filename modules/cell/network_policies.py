"""NetworkPolicies of the product namespace: deny everything, then allow the flows the services need.

Allowed: ingress on the HTTP port from the edge (the load balancer in the public subnets),
egress to the database port in the private subnets (Aurora), DNS to the cluster's resolver and,
when the fleet publishes flags, HTTPS out of the VPC for the flagd sidecar's sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Manifest = dict[str, Any]
DNS_PORT = 53
HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"
DNS_SELECTOR = {"k8s-app": "kube-dns"}
KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}


def _policy(namespace: str, name: str, spec: Manifest) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def default_deny(namespace: str) -> Manifest:
    """Every pod of `namespace`: no ingress, no egress unless another policy allows it."""
    return _policy(namespace, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def allow_from_edge(namespace: str, edge_cidrs: Sequence[str], port: int) -> Manifest:
    """Ingress to the services' HTTP port from the subnets the edge's load balancer lives in."""
    return _policy(
        namespace,
        "allow-ingress-from-edge",
        {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": cidr}} for cidr in edge_cidrs],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            ],
        },
    )


def allow_to_database(namespace: str, database_cidrs: Sequence[str], port: int) -> Manifest:
    """Egress to the database port in the private subnets, where the Aurora instances are."""
    return _policy(
        namespace,
        "allow-egress-to-database",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": cidr}} for cidr in database_cidrs],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            ],
        },
    )


def allow_dns(namespace: str) -> Manifest:
    """Egress to the cluster DNS (CoreDNS in kube-system), UDP and TCP."""
    return _policy(
        namespace,
        "allow-egress-to-dns",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"namespaceSelector": {"matchLabels": KUBE_SYSTEM}, "podSelector": {"matchLabels": DNS_SELECTOR}}],
                    "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
                }
            ],
        },
    )


def allow_flag_sync(namespace: str, vpc_cidr: str) -> Manifest:
    """Egress on 443 to addresses outside the VPC: the flag source (S3/CloudFront) has no fixed CIDR,
    and a NetworkPolicy cannot name a host, so the VPC itself stays closed to this rule."""
    return _policy(
        namespace,
        "allow-egress-to-flag-source",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": ANYWHERE, "except": [vpc_cidr]}}],
                        "ports": [{"protocol": "TCP", "port": HTTPS_PORT}]}],
        },
    )


def namespace_policies(
    namespace: str, *, edge_cidrs: Sequence[str], database_cidrs: Sequence[str], http_port: int, database_port: int,
    flag_sync_from: str | None = None,
) -> list[Manifest]:
    """The namespace's default deny followed by its allowed flows (`flag_sync_from`: the VPC CIDR,
    when the workloads run a flagd sidecar)."""
    policies = [
        default_deny(namespace),
        allow_from_edge(namespace, edge_cidrs, http_port),
        allow_to_database(namespace, database_cidrs, database_port),
        allow_dns(namespace),
    ]
    return policies + ([allow_flag_sync(namespace, flag_sync_from)] if flag_sync_from else [])
