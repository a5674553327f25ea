"""The Argo CD deployer's wiring (`runtime/argocd_deployer.py`): its IAM policy and environment.

The control-plane stack creates the Lambda with these; they are pure functions of the
channel names, so the policy names exactly what the handler touches.
"""

from __future__ import annotations

from typing import Any

from gitops.settings import GitOpsSettings
from model.contract import ARGOCD_APP_PREFIX, MACHINES, RELEASE_TAG_PREFIX
from pipelines.targets import Targets

LAMBDA_TIMEOUT_SECONDS = 900  # Lambda's ceiling; the handler stops waiting a minute before it
MAX_WAIT_SECONDS = LAMBDA_TIMEOUT_SECONDS - 60
POLL_SECONDS = 10


def deployer_policy(targets: Targets, token_secret_arn: str, log_group_arn: str) -> dict[str, Any]:
    """Least privilege: answer task tokens of the pipeline's machines, read the Argo CD token, write logs."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            # Task tokens carry no ARN; SendTask* are authorised on the state machines.
            {"Sid": "AnswerTaskTokens", "Effect": "Allow",
             "Action": ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
             "Resource": sorted(targets.machine_arn(kind) for kind in MACHINES)},
            {"Sid": "ReadArgoCdToken", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
             "Resource": [token_secret_arn]},
            {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [log_group_arn, f"{log_group_arn}:*"]},
        ],
    }


def deployer_environment(
    argocd_url: str, token_secret_arn: str, deploy_timeout_seconds: int, settings: GitOpsSettings | None = None
) -> dict[str, str]:
    """The Lambda's environment: where Argo CD is, where its token is, and the contract's names."""
    settings = settings or GitOpsSettings()
    return {
        "ARGOCD_URL": argocd_url,
        "ARGOCD_TOKEN_SECRET_ARN": token_secret_arn,
        "ARGOCD_APP_NAMESPACE": settings.namespace,
        "APPLICATION_PREFIX": ARGOCD_APP_PREFIX,
        "REVISION_PREFIX": RELEASE_TAG_PREFIX,
        "WAIT_SECONDS": str(min(deploy_timeout_seconds, MAX_WAIT_SECONDS)),
        "POLL_SECONDS": str(POLL_SECONDS),
    }
