"""The control-plane stack (`pulumi up --stack control-plane`): everything the pipeline talks to.

State machines (logging + X-Ray tracing) with a role whose policy is derived from their own
definitions; the deployment bus; SNS approvals and notifications topics; the DynamoDB cell
registry (point-in-time recovery, encrypted); and the reference deployer: an EventBridge rule
on `CellDeployRequested` starting a CodeBuild project that runs `pulumi up --stack <cell>`.

Config (namespace `cellfleet`): `eventBus`, `approvalsTopic`, `notificationsTopic`,
`registryTable` (contract defaults otherwise), `account` (default: the caller's account),
`repository` (git URL the deployer builds from), `logRetentionDays` (default 90).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from fleet.contract import (
    CONFIG_NAMESPACE,
    DEFAULT_APPROVALS_TOPIC,
    DEFAULT_EVENT_BUS,
    DEFAULT_NOTIFICATIONS_TOPIC,
    DEFAULT_REGISTRY_TABLE,
    REGISTRY_TABLE_KEY,
)
from fleet.model import Fleet
from pipelines import deployer
from pipelines.definitions import definitions
from pipelines.iam import definitions_policy, observability_policy
from pipelines.targets import DEPLOY_DETAIL_TYPE, EVENT_SOURCE, MACHINES, Targets
from pipelines.waves import Plan

NAME = "control-plane"


def _assume(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service},
    }]}, sort_keys=True)


def targets_from_config(account: str, region: str) -> Targets:
    config = pulumi.Config(CONFIG_NAMESPACE)
    return Targets(
        region=region,
        account=account,
        event_bus=config.get("eventBus") or DEFAULT_EVENT_BUS,
        approvals_topic=config.get("approvalsTopic") or DEFAULT_APPROVALS_TOPIC,
        notifications_topic=config.get("notificationsTopic") or DEFAULT_NOTIFICATIONS_TOPIC,
        registry_table=config.get(REGISTRY_TABLE_KEY) or DEFAULT_REGISTRY_TABLE,
    )


def _definition_text(kind: str, documents: dict[str, Any]) -> str:
    return json.dumps(documents[kind], sort_keys=True)


def program(fleet: Fleet) -> None:
    """Pulumi program of the control-plane stack for `fleet`'s rollout plan."""
    from pipelines.build import load_pipeline_plan

    build(load_pipeline_plan(fleet), fleet)


def build(plan: Plan, fleet: Fleet | None = None) -> None:
    """The control plane for `plan`; with `fleet`, also the orchestrator of each of its migrations."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    region = pulumi.Config("aws").get("region") or "us-east-1"
    account: pulumi.Input[str] = config.get("account") or aws.get_caller_identity_output().account_id
    targets_output = pulumi.Output.from_input(account).apply(lambda a: targets_from_config(a, region))
    names = targets_from_config("000000000000", region)  # names only; ARNs come from targets_output

    bus = aws.cloudwatch.EventBus(f"{NAME}-bus", name=names.event_bus)
    approvals = aws.sns.Topic(f"{NAME}-approvals", name=names.approvals_topic, kms_master_key_id="alias/aws/sns")
    notifications = aws.sns.Topic(f"{NAME}-notifications", name=names.notifications_topic,
                                  kms_master_key_id="alias/aws/sns")
    registry = aws.dynamodb.Table(
        f"{NAME}-registry",
        name=names.registry_table,
        billing_mode="PAY_PER_REQUEST",
        hash_key="cell_id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="cell_id", type="S")],
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        deletion_protection_enabled=True,
    )
    retention = config.get_int("logRetentionDays") or 90
    logs = aws.cloudwatch.LogGroup(f"{NAME}-pipeline-logs", name=f"/aws/vendedlogs/states/{names.prefix}-pipeline",
                                   retention_in_days=retention)

    documents = targets_output.apply(lambda t: definitions(plan, t))
    role = aws.iam.Role(f"{NAME}-pipeline-role", assume_role_policy=_assume("states.amazonaws.com"))
    channels = [bus, approvals, notifications, registry]
    policy = aws.iam.RolePolicy(
        f"{NAME}-pipeline-policy", role=role.id,
        policy=pulumi.Output.all(documents, targets_output).apply(
            lambda args: json.dumps(definitions_policy(args[0], args[1]), sort_keys=True)),
        opts=pulumi.ResourceOptions(depends_on=channels),
    )
    observability = aws.iam.RolePolicy(f"{NAME}-pipeline-observability", role=role.id,
                                       policy=json.dumps(observability_policy(), sort_keys=True))
    machines: dict[str, aws.sfn.StateMachine] = {}
    for kind in reversed(MACHINES):  # children first
        machines[kind] = aws.sfn.StateMachine(
            f"{NAME}-{kind}",
            name=names.machine_name(kind),
            type="STANDARD",
            role_arn=role.arn,
            definition=documents.apply(functools.partial(_definition_text, kind)),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                log_destination=logs.arn.apply(lambda arn: f"{arn}:*"), include_execution_data=True, level="ALL",
            ),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            opts=pulumi.ResourceOptions(depends_on=[policy, observability, *machines.values()]),
        )
    project = _deployer(names, bus, targets_output, config.get("repository"), retention)
    if fleet is not None:
        from migrations.deploy import build_orchestrators

        build_orchestrators(fleet, plan, targets_output, names, _assume("states.amazonaws.com"), logs.arn)
    pulumi.export("eventBus", bus.name)
    pulumi.export("approvalsTopicArn", approvals.arn)
    pulumi.export("notificationsTopicArn", notifications.arn)
    pulumi.export("registryTable", registry.name)
    pulumi.export("deployerProject", project.name)
    for kind, machine in machines.items():
        pulumi.export(f"{kind}StateMachineArn", machine.arn)


def _deployer(names: Targets, bus: aws.cloudwatch.EventBus, targets: pulumi.Output[Targets],
              repository: str | None, retention: int) -> aws.codebuild.Project:
    """EventBridge rule -> CodeBuild project running the buildspec in `pipelines.deployer`."""
    logs = aws.cloudwatch.LogGroup(f"{NAME}-deployer-logs", name=f"/aws/codebuild/{names.prefix}-cell-deployer",
                                   retention_in_days=retention)
    build_role = aws.iam.Role(f"{NAME}-deployer-role", assume_role_policy=_assume("codebuild.amazonaws.com"))
    machine_arns = targets.apply(lambda t: [t.machine_arn(kind) for kind in MACHINES])
    aws.iam.RolePolicy(
        f"{NAME}-deployer-policy", role=build_role.id,
        policy=pulumi.Output.all(logs.arn, machine_arns).apply(lambda args: json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "BuildLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": [args[0], f"{args[0]}:*"]},
                # Task tokens carry no ARN; SendTask* are authorised on the state machines.
                {"Sid": "AnswerTaskTokens", "Effect": "Allow",
                 "Action": ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
                 "Resource": args[1]},
            ],
        }, sort_keys=True)),
    )
    source: dict[str, Any] = {"type": "GITHUB", "location": repository} if repository else {"type": "NO_SOURCE"}
    project = aws.codebuild.Project(
        f"{NAME}-cell-deployer",
        name=f"{names.prefix}-cell-deployer",
        description="Runs `pulumi up --stack <cell>` for CellDeployRequested events and answers the task token",
        service_role=build_role.arn,
        build_timeout=60,
        artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
        environment=aws.codebuild.ProjectEnvironmentArgs(
            compute_type="BUILD_GENERAL1_SMALL", image="aws/codebuild/standard:7.0", type="LINUX_CONTAINER",
        ),
        source=aws.codebuild.ProjectSourceArgs(buildspec=deployer.buildspec_text(), **source),
        logs_config=aws.codebuild.ProjectLogsConfigArgs(
            cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(group_name=logs.name),
        ),
    )
    rule = aws.cloudwatch.EventRule(
        f"{NAME}-deploy-requested", event_bus_name=bus.name,
        event_pattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [DEPLOY_DETAIL_TYPE]}, sort_keys=True),
    )
    events_role = aws.iam.Role(f"{NAME}-deployer-events-role", assume_role_policy=_assume("events.amazonaws.com"))
    aws.iam.RolePolicy(
        f"{NAME}-deployer-events-policy", role=events_role.id,
        policy=project.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "StartDeployerBuild", "Effect": "Allow", "Action": ["codebuild:StartBuild"], "Resource": [arn]},
        ]}, sort_keys=True)),
    )
    paths, template = deployer.input_transformer()
    aws.cloudwatch.EventTarget(
        f"{NAME}-deploy-requested-target", rule=rule.name, event_bus_name=bus.name, arn=project.arn,
        role_arn=events_role.arn,
        input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(input_paths=paths, input_template=template),
    )
    return project
