"""The cell's observability key: one customer-managed KMS key for its log groups and paging topic.

An AWS-managed key cannot be used here: CloudWatch Logs and CloudWatch alarms (publishing to
the encrypted topic) need grants in the key policy, so the policy names each service.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from model.iam import POLICY_VERSION

# Key administration by the account (through IAM), listed: no `kms:*` in our policies.
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
LOGS_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
ALARM_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def observability_key_policy(account: str, region: str) -> str:
    """Key policy: the account administers it; Logs (this account's log groups) and alarms use it."""
    log_groups = f"arn:aws:logs:{region}:{account}:log-group:*"
    statements = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": list(ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsEncrypts",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": list(LOGS_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": list(ALARM_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
    ]
    return json.dumps({"Version": POLICY_VERSION, "Statement": statements}, sort_keys=True)


def build_observability_key(
    name: str, cell_id: str, account: str, region: str, opts: pulumi.ResourceOptions
) -> aws.kms.Key:
    """The rotating key of the cell's log groups (services, flow logs, EKS control plane) and paging topic."""
    return aws.kms.Key(
        f"{name}-observability",
        description=f"Log groups and paging topic of cell {cell_id}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=observability_key_policy(account, region),
        opts=opts,
    )
