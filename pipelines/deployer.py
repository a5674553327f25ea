"""The reference deployer: a CodeBuild build per `CellDeployRequested` event.

The EventBridge rule hands the event's `detail` to CodeBuild as environment variables; the
buildspec runs `pulumi up --stack <cell>` with the requested version and answers the task
token with SendTaskSuccess or SendTaskFailure. Any other deployer (ArgoCD hook, Lambda…)
can replace it by honouring the same event and token contract.
"""

from __future__ import annotations

import json
from typing import Any

from model.contract import CONFIG_NAMESPACE, RELEASE_KEY

# detail field -> environment variable of the build
DETAIL_TO_ENV = {
    "cell_id": "CELL_ID",
    "action": "DEPLOY_ACTION",
    "version": "RELEASE",
    "previous_version": "PREVIOUS_RELEASE",
    "wave": "WAVE",
    "rollout": "ROLLOUT",
    "task_token": "TASK_TOKEN",
}
RELEASE_CONFIG_KEY = f"{CONFIG_NAMESPACE}:{RELEASE_KEY}"  # the cell program deploys this release


def buildspec() -> dict[str, Any]:
    """The CodeBuild buildspec (a dict; JSON is valid buildspec YAML)."""
    answer = (
        'if [ "$CODEBUILD_BUILD_SUCCEEDING" = "1" ]; then '
        'aws stepfunctions send-task-success --task-token "$TASK_TOKEN" '
        '--task-output "{\\"cell_id\\":\\"$CELL_ID\\",\\"release\\":\\"$RELEASE\\",\\"build\\":\\"$CODEBUILD_BUILD_ID\\"}"; '
        "else "
        'aws stepfunctions send-task-failure --task-token "$TASK_TOKEN" --error PulumiUpFailed '
        '--cause "pulumi up --stack $CELL_ID ($DEPLOY_ACTION $RELEASE) failed in build $CODEBUILD_BUILD_ID"; '
        "fi"
    )
    return {
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {
            "install": {
                "commands": [
                    "curl -fsSL https://get.pulumi.com | sh -s -- --version latest",
                    'export PATH="$HOME/.pulumi/bin:$PATH"',
                    "python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt",
                ],
            },
            "build": {
                "on-failure": "CONTINUE",
                "commands": [
                    'export PATH="$HOME/.pulumi/bin:$PWD/.venv/bin:$PATH"',
                    'pulumi stack select "$CELL_ID"',
                    f'pulumi up --yes --skip-preview --stack "$CELL_ID" --config "{RELEASE_CONFIG_KEY}=$RELEASE"',
                ],
            },
            "post_build": {"commands": [answer]},
        },
    }


def buildspec_text() -> str:
    return json.dumps(buildspec(), sort_keys=True, indent=2)


def input_transformer() -> tuple[dict[str, str], str]:
    """EventBridge -> CodeBuild StartBuild: input paths and the template (environment overrides)."""
    paths = {name: f"$.detail.{name}" for name in DETAIL_TO_ENV}
    overrides = [{"name": env, "value": f"<{name}>", "type": "PLAINTEXT"} for name, env in DETAIL_TO_ENV.items()]
    # EventBridge substitutes <name> placeholders inside string values of the template.
    return paths, json.dumps({"environmentVariablesOverride": overrides}, sort_keys=True)
