"""GitOps delivery: Pulumi owns the cell's infrastructure, Argo CD its workloads.

Instead of applying the workloads, the Cell component gives Argo CD access to the cluster:
an IAM role Argo CD's controller assumes, an EKS access entry mapping it to one Kubernetes
group, RBAC for that group on exactly the kinds the cell's workloads use (nothing else), and
the Argo CD cluster secret (in Argo CD's namespace on the hub cluster) naming the cluster
`cell-<id>`, the destination of the cell's Application. The secret carries no credential:
Argo CD authenticates with `aws eks get-token` as the role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from model.cells import Cell
from model.contract import ARGOCD_NAMESPACE, Delivery, argocd_application

DEFAULT_CONTROLLER_ROLE = "cellfleet-argocd-controller"
ARGOCD_GROUP = "cellfleet:argocd"
CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label key
# Argo CD applies server-side and prunes; it reads every kind it manages.
VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
# Kubernetes resource names (plural) of the kinds a cell's workloads use.
PLURALS = {
    "Namespace": "namespaces",
    "Service": "services",
    "Deployment": "deployments",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "NetworkPolicy": "networkpolicies",
}


@dataclass(frozen=True)
class GitOpsBootstrapArgs:
    cluster_name: str  # the cluster as Argo CD knows it: `cell-<id>` (model.contract.argocd_application)
    argocd_namespace: str
    role_name: str
    controller_role_arn: pulumi.Input[str]  # Argo CD's application controller, which assumes `role_name`
    labels: Mapping[str, str]
    hub_kubeconfig: pulumi.Input[str] | None = None  # the hub cluster running Argo CD (ambient config when None)


def rbac_rules(manifests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One RBAC rule per API group: the resources of `manifests` and the verbs Argo CD syncs with."""
    groups: dict[str, set[str]] = {}
    for manifest in manifests:
        group = manifest["apiVersion"].rpartition("/")[0]
        groups.setdefault(group, set()).add(PLURALS[manifest["kind"]])
    return [{"apiGroups": [g], "resources": sorted(r), "verbs": list(VERBS)} for g, r in sorted(groups.items())]


def _trust(controller_role_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": controller_role_arn}, "Action": "sts:AssumeRole",
    }]}, sort_keys=True)


def bootstrap_gitops(
    name: str,
    args: GitOpsBootstrapArgs,
    workloads: Sequence[Mapping[str, Any]],
    cluster: aws.eks.Cluster,
    kubeconfig: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.core.v1.Secret:
    """Argo CD's role, access entry and RBAC on the cell's cluster, and its cluster secret on the hub."""
    role = aws.iam.Role(f"{name}-argocd", name=args.role_name,
                        assume_role_policy=pulumi.Output.from_input(args.controller_role_arn).apply(_trust), opts=opts)
    entry = aws.eks.AccessEntry(f"{name}-argocd", cluster_name=cluster.name, principal_arn=role.arn, type="STANDARD",
                                kubernetes_groups=[ARGOCD_GROUP], opts=opts)
    parent = pulumi.ResourceOptions(parent=opts.parent)
    cell_k8s = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True,
                            opts=pulumi.ResourceOptions.merge(parent, pulumi.ResourceOptions(depends_on=list(depends_on))))
    in_cell = pulumi.ResourceOptions(parent=opts.parent, provider=cell_k8s)
    meta = k8s.meta.v1.ObjectMetaArgs(name="cellfleet-argocd", labels=dict(args.labels))
    rules = [k8s.rbac.v1.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"])
             for r in rbac_rules(workloads)]
    cluster_role = k8s.rbac.v1.ClusterRole(f"{name}-argocd", metadata=meta, rules=rules, opts=in_cell)
    k8s.rbac.v1.ClusterRoleBinding(
        f"{name}-argocd", metadata=meta,
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                         name=cluster_role.metadata.apply(lambda m: m.name or "")),
        subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="Group", name=ARGOCD_GROUP)],
        opts=in_cell,
    )
    hub = k8s.Provider(f"{name}-argocd-hub", kubeconfig=args.hub_kubeconfig, enable_server_side_apply=True, opts=parent)
    config = pulumi.Output.all(cluster.name, role.arn, cluster.certificate_authority.data).apply(
        lambda parts: json.dumps({
            "awsAuthConfig": {"clusterName": parts[0], "roleARN": parts[1]},
            "tlsClientConfig": {"caData": parts[2] or "", "insecure": False},
        }, sort_keys=True))
    return k8s.core.v1.Secret(
        f"{name}-argocd-cluster",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=args.cluster_name, namespace=args.argocd_namespace,
                                            labels={CLUSTER_SECRET_LABEL: "cluster", **args.labels}),
        type="Opaque",
        string_data={"name": args.cluster_name, "server": cluster.endpoint, "config": config},
        opts=pulumi.ResourceOptions(parent=opts.parent, provider=hub, depends_on=[entry]),
    )


def gitops_args(
    cell: Cell, controller_role_arn: str | None = None, hub_kubeconfig: pulumi.Input[str] | None = None
) -> GitOpsBootstrapArgs | None:
    """The bootstrap's arguments when the fleet delivers by GitOps, else None (Pulumi applies the workloads).

    Without `controller_role_arn` the controller is expected as `cellfleet-argocd-controller` in
    the cell's own account (one named role, never the account).
    """
    if cell.delivery is not Delivery.GITOPS:
        return None
    return GitOpsBootstrapArgs(
        cluster_name=argocd_application(cell.id),
        argocd_namespace=ARGOCD_NAMESPACE,
        role_name=f"cellfleet-argocd-{cell.id}",
        controller_role_arn=controller_role_arn or f"arn:aws:iam::{cell.account}:role/{DEFAULT_CONTROLLER_ROLE}",
        labels={"cellfleet.io/cell-id": cell.id, "cellfleet.io/tier": cell.tier.value},
        hub_kubeconfig=hub_kubeconfig,
    )
