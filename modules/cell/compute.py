"""Compute: an EKS cluster with KMS-encrypted secrets and a managed node group sized by profile."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from model.iam import EKS_CLUSTER_POLICIES, EKS_NODE_POLICIES, assume_role_policy
from modules.cell.args import ComputeArgs

CONTROL_PLANE_LOGS = ("api", "audit", "authenticator")
# Security groups for pods (the database clients' group) need the VPC resource controller.
POD_ENI_POLICY = "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"
# The VPC CNI enforces NetworkPolicies and gives pods their own security groups.
VPC_CNI_CONFIGURATION = {
    "enableNetworkPolicy": "true",
    "env": {"ENABLE_POD_ENI": "true", "POD_SECURITY_GROUP_ENFORCING_MODE": "standard"},
}


@dataclass(frozen=True)
class Compute:
    cluster: aws.eks.Cluster
    node_group: aws.eks.NodeGroup
    network_addon: aws.eks.Addon

    @property
    def security_group_id(self) -> pulumi.Output[str]:
        """The security group EKS creates for the cluster and attaches to its nodes."""
        return self.cluster.vpc_config.apply(lambda c: c.cluster_security_group_id or "")


def _role(
    name: str, service: str, policies: Sequence[str], opts: pulumi.ResourceOptions
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    role = aws.iam.Role(name, assume_role_policy=assume_role_policy(service), opts=opts)
    attachments = [
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
        for arn in policies
    ]
    return role, attachments


def vpc_config(args: ComputeArgs, subnet_ids: Sequence[pulumi.Input[str]]) -> aws.eks.ClusterVpcConfigArgs:
    """Private API endpoint; public only for the cell file's allow-list (never 0.0.0.0/0 by default)."""
    public = bool(args.public_access_cidrs)
    return aws.eks.ClusterVpcConfigArgs(
        subnet_ids=list(subnet_ids),
        endpoint_private_access=True,
        endpoint_public_access=public,
        public_access_cidrs=list(args.public_access_cidrs) if public else None,
    )


def _control_plane_logs(
    name: str, args: ComputeArgs, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    """The group EKS writes control-plane logs to, made first so it has retention and encryption."""
    return aws.cloudwatch.LogGroup(
        f"{name}-eks-logs",
        name=pulumi.Output.concat("/aws/eks/", args.cluster_name, "/cluster"),
        retention_in_days=args.log_retention_days,
        kms_key_id=key_arn,
        opts=opts,
    )


def _network_addon(name: str, cluster: aws.eks.Cluster, opts: pulumi.ResourceOptions) -> aws.eks.Addon:
    return aws.eks.Addon(
        f"{name}-vpc-cni",
        cluster_name=cluster.name,
        addon_name="vpc-cni",
        configuration_values=json.dumps(VPC_CNI_CONFIGURATION, sort_keys=True),
        resolve_conflicts_on_update="OVERWRITE",
        opts=opts,
    )


def build_compute(
    name: str,
    args: ComputeArgs,
    subnet_ids: Sequence[pulumi.Input[str]],
    log_key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> Compute:
    """EKS control plane in the private subnets (private endpoint unless allow-listed) and its nodes."""
    key = aws.kms.Key(
        f"{name}-eks-secrets",
        description=pulumi.Output.concat("EKS secrets of cell ", args.cluster_name),
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=opts,
    )
    cluster_role, cluster_attachments = _role(
        f"{name}-eks-cluster", "eks.amazonaws.com", (*EKS_CLUSTER_POLICIES, POD_ENI_POLICY), opts
    )
    logs = _control_plane_logs(name, args, log_key_arn, opts)
    cluster = aws.eks.Cluster(
        f"{name}-eks",
        name=args.cluster_name,
        version=args.kubernetes_version,
        role_arn=cluster_role.arn,
        vpc_config=vpc_config(args, subnet_ids),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            resources=["secrets"],
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
        ),
        enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*cluster_attachments, logs])),
    )
    node_role, node_attachments = _role(f"{name}-eks-nodes", "ec2.amazonaws.com", EKS_NODE_POLICIES, opts)
    node_group = aws.eks.NodeGroup(
        f"{name}-nodes",
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=list(subnet_ids),
        instance_types=list(args.node_instance_types),
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=args.nodes_min, desired_size=args.nodes_desired, max_size=args.nodes_max
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=node_attachments)),
    )
    return Compute(cluster=cluster, node_group=node_group, network_addon=_network_addon(name, cluster, opts))
