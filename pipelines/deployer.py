"""The reference deployer: a CodeBuild build per `CellDeployRequested` event, started by a hand-off Lambda.

EventBridge invokes the hand-off Lambda (`runtime/codebuild_handoff.py`), which checks the
detail, writes the task token to a Parameter Store SecureString under
`/<prefix>/deploy-tokens/` (encrypted with the control plane's KMS key) and starts the build
with `TASK_TOKEN` as a PARAMETER_STORE override, so the token never appears in the build's
details; the other fields are PLAINTEXT environment variables (`DETAIL_TO_ENV`). The buildspec
checks them again (a cell id by the cell-id pattern, never a reserved stack; a release by the
semver pattern, or `declared`: the cell file's own releases; `none` is refused, so a rollback
with nothing to go back to fails and a person acts; the action), installs the pinned Pulumi CLI
after checking its SHA-256, runs `pulumi up --stack <cell>` with the requested version, answers
the task token with SendTaskSuccess (output built by `jq`) or SendTaskFailure and, whatever
happened, deletes the token's parameter. Every step runs in the build phase so that any
failure, a refused input included, is answered at once. Any other deployer (Argo CD Lambda…)
can replace it by honouring the same event and token contract.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from model.cells import CELL_ID, SEMVER
from model.contract import (
    CONFIG_NAMESPACE,
    CONTROL_PLANE_STACK,
    DECLARED_RELEASES,
    LANDING_ZONE_STACK,
    MACHINES,
    RELEASE_KEY,
)
from model.iam import POLICY_VERSION
from pipelines.targets import Targets

# detail field -> environment variable of the build
DETAIL_TO_ENV = {
    "cell_id": "CELL_ID",
    "action": "DEPLOY_ACTION",
    "version": "RELEASE",
    "previous_version": "PREVIOUS_RELEASE",
    "wave": "WAVE",
    "rollout": "ROLLOUT",
}
CALLBACK_ENV = "TASK_TOKEN"  # a PARAMETER_STORE override: CodeBuild resolves the parameter inside the build
CALLBACK_PARAMETER_ENV = "TASK_TOKEN_PARAMETER"  # the parameter's name, deleted once the token is answered
CALLBACK_PATH = "deploy-tokens"
HANDOFF_TIMEOUT_SECONDS = 30
RELEASE_CONFIG_KEY = f"{CONFIG_NAMESPACE}:{RELEASE_KEY}"  # the cell program deploys this release
RESERVED_STACKS = (CONTROL_PLANE_STACK, LANDING_ZONE_STACK)
ACTIONS = ("deploy", "rollback")
PULUMI_CLI_VERSION = "3.272.0"  # the CLI matching the pinned Python SDK (requirements.txt)


@dataclass(frozen=True)
class PulumiCli:
    """The CLI release the deployer installs and the SHA-256 of its linux-x64 archive.

    The checksum comes from the release's `pulumi-<version>-checksums.txt` (stack config
    `cellfleet:pulumiCliSha256`); without one the deployer refuses to install anything.
    """

    version: str = PULUMI_CLI_VERSION
    sha256: str | None = None

    @property
    def url(self) -> str:
        return f"https://get.pulumi.com/releases/sdk/pulumi-v{self.version}-linux-x64.tar.gz"


def bash_ere(pattern: str) -> str:
    """A Python regex of ours as a bash `=~` extended regex (`\\d` -> `[0-9]`, `(?:` -> `(`)."""
    return pattern.replace(r"\d", "[0-9]").replace("(?:", "(")


def _refuse(condition: str, message: str) -> str:
    return f"if {condition}; then echo {shlex.quote(message)} >&2; exit 1; fi"


def check_commands() -> list[str]:
    """Shell lines refusing a request whose cell, release or action is not what the contract allows."""
    reserved = "|".join(RESERVED_STACKS)
    return [
        f"cell_re={shlex.quote(bash_ere(CELL_ID.pattern))}",
        f"release_re={shlex.quote(bash_ere(SEMVER.pattern))}",
        _refuse('! [[ "$CELL_ID" =~ $cell_re ]]', "refused: CELL_ID is not a cell id"),
        f'case "$CELL_ID" in {reserved}) echo "refused: $CELL_ID is a reserved stack, not a cell" >&2; exit 1;; esac',
        _refuse(f'! [[ "$RELEASE" =~ $release_re ]] && [ "$RELEASE" != {DECLARED_RELEASES} ]',
                "refused: RELEASE is not a release version"),
        _refuse('[ "$DEPLOY_ACTION" != deploy ] && [ "$DEPLOY_ACTION" != rollback ]',
                "refused: DEPLOY_ACTION must be deploy or rollback"),
    ]


def install_commands(cli: PulumiCli) -> list[str]:
    """Download the pinned CLI, check its SHA-256, unpack it (never `curl | sh`, never `latest`)."""
    if cli.sha256 is None:
        return [f"echo {shlex.quote('refused: no SHA-256 configured for the Pulumi CLI (cellfleet:pulumiCliSha256)')}"
                " >&2; exit 1"]
    return [
        f"curl -fsSL --proto '=https' -o /tmp/pulumi.tgz {shlex.quote(cli.url)}",
        f"echo {shlex.quote(f'{cli.sha256}  /tmp/pulumi.tgz')} | sha256sum -c -",
        'mkdir -p "$HOME/.pulumi-cli" && tar -xzf /tmp/pulumi.tgz -C "$HOME/.pulumi-cli"',
    ]


def answer_command() -> str:
    """SendTaskSuccess with a `jq`-built output, or SendTaskFailure naming the stack and build."""
    output = ('jq -cn --arg cell "$CELL_ID" --arg release "$RELEASE" --arg build "$CODEBUILD_BUILD_ID" '
              "'{cell_id: $cell, release: $release, build: $build}'")
    return (
        'if [ "$CODEBUILD_BUILD_SUCCEEDING" = "1" ]; then '
        f'aws stepfunctions send-task-success --task-token "$TASK_TOKEN" --task-output "$({output})"; '
        "else "
        'aws stepfunctions send-task-failure --task-token "$TASK_TOKEN" --error PulumiUpFailed '
        '--cause "pulumi up --stack $CELL_ID ($DEPLOY_ACTION $RELEASE) failed in build $CODEBUILD_BUILD_ID"; '
        "fi"
    )


def forget_token_command() -> str:
    """Delete the token's parameter (post_build `finally`: after the answer, whether it was sent or not)."""
    return f'aws ssm delete-parameter --name "${CALLBACK_PARAMETER_ENV}"'


def buildspec(cli: PulumiCli | None = None) -> dict[str, Any]:
    """The CodeBuild buildspec (a dict; JSON is valid buildspec YAML)."""
    cli = cli or PulumiCli()
    return {
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {
            "build": {
                "on-failure": "CONTINUE",
                "commands": [
                    *check_commands(),
                    *install_commands(cli),
                    'export PATH="$HOME/.pulumi-cli/pulumi:$PWD/.venv/bin:$PATH"',
                    "python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt",
                    'pulumi stack select "$CELL_ID"',
                    f'if [ "$RELEASE" = {DECLARED_RELEASES} ]; then pulumi up --yes --skip-preview --stack "$CELL_ID"; '
                    f'else pulumi up --yes --skip-preview --stack "$CELL_ID" --config "{RELEASE_CONFIG_KEY}=$RELEASE"; fi',
                ],
            },
            "post_build": {"commands": [answer_command()], "finally": [forget_token_command()]},
        },
    }


def buildspec_text(cli: PulumiCli | None = None) -> str:
    return json.dumps(buildspec(cli), sort_keys=True, indent=2)


def token_parameter_prefix(targets: Targets) -> str:
    """The Parameter Store path holding the task tokens of deploys in flight (`/cellfleet/deploy-tokens`)."""
    return f"/{targets.prefix}/{CALLBACK_PATH}"


def token_parameters_arn(targets: Targets) -> str:
    return f"arn:{targets.partition}:ssm:{targets.region}:{targets.account}:parameter{token_parameter_prefix(targets)}/*"


def project_name(targets: Targets) -> str:
    return f"{targets.prefix}-cell-deployer"


def project_arn(targets: Targets) -> str:
    return f"arn:{targets.partition}:codebuild:{targets.region}:{targets.account}:project/{project_name(targets)}"


def _answer_tokens(targets: Targets, actions: list[str]) -> dict[str, Any]:
    # Task tokens carry no ARN; SendTask* are authorised on the state machines.
    return {"Sid": "AnswerTaskTokens", "Effect": "Allow", "Action": actions,
            "Resource": sorted(targets.machine_arn(kind) for kind in MACHINES)}


def _logs(log_group_arn: str) -> dict[str, Any]:
    return {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"]}


def handoff_environment(targets: Targets, key_arn: str) -> dict[str, str]:
    """The hand-off Lambda's environment: the project it starts, where and with which key it keeps tokens."""
    return {"DEPLOYER_PROJECT": project_name(targets), "TOKEN_PARAMETER_PREFIX": token_parameter_prefix(targets),
            "TOKEN_KEY_ID": key_arn}


def handoff_policy(targets: Targets, key_arn: str, log_group_arn: str) -> dict[str, Any]:
    """The hand-off Lambda: write and remove token parameters, encrypt them, start the build, refuse a task."""
    return {"Version": POLICY_VERSION, "Statement": [
        {"Sid": "KeepTokens", "Effect": "Allow", "Action": ["ssm:DeleteParameter", "ssm:PutParameter"],
         "Resource": [token_parameters_arn(targets)]},
        {"Sid": "EncryptTokens", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
         "Resource": [key_arn]},
        {"Sid": "StartDeployerBuild", "Effect": "Allow", "Action": ["codebuild:StartBuild"],
         "Resource": [project_arn(targets)]},
        _answer_tokens(targets, ["states:SendTaskFailure"]),
        _logs(log_group_arn),
    ]}


def build_policy(targets: Targets, key_arn: str, log_group_arn: str) -> dict[str, Any]:
    """The build: read (CodeBuild resolves the override) and delete token parameters, answer tasks, log."""
    return {"Version": POLICY_VERSION, "Statement": [
        {"Sid": "ReadAndForgetTokens", "Effect": "Allow", "Action": ["ssm:DeleteParameter", "ssm:GetParameters"],
         "Resource": [token_parameters_arn(targets)]},
        {"Sid": "DecryptTokens", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn]},
        _answer_tokens(targets, ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"]),
        _logs(log_group_arn),
    ]}


def token_key_statement(targets: Targets) -> dict[str, Any]:
    """Key policy: the account's roles may use the key through Parameter Store, for token parameters only.

    IAM still decides which role (`handoff_policy`, `build_policy`); this statement keeps the key
    from encrypting or decrypting anything else for them.
    """
    return {"Sid": "DeployTokensThroughParameterStore", "Effect": "Allow",
            "Principal": {"AWS": f"arn:{targets.partition}:iam::{targets.account}:root"},
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{targets.region}.amazonaws.com"},
                          "ArnLike": {"kms:EncryptionContext:PARAMETER_ARN": token_parameters_arn(targets)}}}
