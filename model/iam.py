"""IAM documents shared by every stack, built as data (never string templates), and AWS managed policy ARNs."""

from __future__ import annotations

import json

EKS_CLUSTER_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",)
EKS_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
POLICY_VERSION = "2012-10-17"


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service principal assume the role."""
    return json.dumps(
        {
            "Version": POLICY_VERSION,
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        },
        sort_keys=True,
    )


def service_trust_policy(service: str, account: str, source_arns: list[str]) -> str:
    """Trust policy for a service principal, only on behalf of this account's named resources.

    `aws:SourceAccount` and `aws:SourceArn` (ArnLike, so a `*` suffix may cover a family of
    resources) stop the confused deputy: another account's resource cannot make the service
    assume this role.
    """
    return json.dumps(
        {
            "Version": POLICY_VERSION,
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": source_arns},
                },
            }],
        },
        sort_keys=True,
    )
