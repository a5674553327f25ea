"""The control-plane stack (`pulumi up --stack control-plane`): everything the pipeline talks to.

State machines (error-level logging without execution data, so task tokens never reach the
logs, + X-Ray tracing) with a role whose policy is derived from their own definitions and
whose trust is limited to this account's machines; the deployment bus with a resource
policy admitting only the pipeline's and the migration orchestrators' roles; SNS approvals
and notifications topics (KMS); log groups encrypted with the stack's KMS key and kept for
`log_retention_days`; the DynamoDB cell
registry (written by the cell stacks) and the rollout-state table (written by the pipeline
only), both with point-in-time recovery and encryption; and the reference deployer: an
EventBridge rule on `CellDeployRequested` invoking the hand-off Lambda (`handoff_source`),
which keeps the task token in a SecureString parameter (the same KMS key) and starts a
CodeBuild project that runs `pulumi up --stack <cell>` (or, for GitOps fleets, invoking the
Argo CD deployer Lambda given in `ControlPlaneSettings.lambda_deployer`). The stack's config
is read by the tool (`fleet.stacks`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from model.contract import CELL_KEY, DEPLOY_DETAIL_TYPE, EVENT_SOURCE, MACHINES
from model.iam import POLICY_VERSION, service_trust_policy
from pipelines import deployer
from pipelines.definitions import definitions
from pipelines.iam import definitions_policy, observability_policy
from pipelines.targets import Targets
from pipelines.waves import Plan

NAME = "control-plane"


@dataclass(frozen=True)
class LambdaDeployer:
    """A deployer Lambda (the Argo CD one of GitOps fleets), described by a layer above: code, environment, policy."""

    source: Path  # one Python file, packaged alone
    handler: str
    timeout_seconds: int
    environment: Mapping[str, str]
    policy: Callable[[Targets, str], dict[str, Any]]  # (targets, its log group's ARN) -> the role's policy


@dataclass(frozen=True)
class ControlPlaneSettings:
    """What the stack's config chooses: the channel names (in `names`), the account, the deployer source."""

    names: Targets  # names only; the account in it is a placeholder, ARNs come from `account`
    account: pulumi.Input[str]
    handoff_source: Path  # the CodeBuild deployer's hand-off Lambda (one Python file, `handler`)
    repository: str | None = None
    log_retention_days: int = 365  # FSBP CloudWatch.16: at least a year
    pulumi_cli: deployer.PulumiCli = dataclasses.field(default_factory=deployer.PulumiCli)
    lambda_deployer: LambdaDeployer | None = None  # set: it answers CellDeployRequested instead of CodeBuild


@dataclass(frozen=True)
class ControlPlane:
    """What other parts of the control-plane stack build on (the migration orchestrators)."""

    targets: pulumi.Output[Targets]
    names: Targets
    log_group_arn: pulumi.Output[str]


def _definition_text(kind: str, documents: dict[str, Any]) -> str:
    return json.dumps(documents[kind], sort_keys=True)


def build_control_plane(plan: Plan, settings: ControlPlaneSettings) -> ControlPlane:
    """The pipeline's machines, channels, tables and reference deployer for `plan`."""
    names = settings.names
    targets_output = pulumi.Output.from_input(settings.account).apply(
        lambda account: dataclasses.replace(names, account=account))

    bus = aws.cloudwatch.EventBus(f"{NAME}-bus", name=names.event_bus)
    approvals = aws.sns.Topic(f"{NAME}-approvals", name=names.approvals_topic, kms_master_key_id="alias/aws/sns")
    notifications = aws.sns.Topic(f"{NAME}-notifications", name=names.notifications_topic,
                                  kms_master_key_id="alias/aws/sns")
    registry = _cell_table(f"{NAME}-registry", names.registry_table)  # written by the cell stacks
    rollout_state = _cell_table(f"{NAME}-rollout-state", names.rollout_table)  # written by the pipeline only
    retention = settings.log_retention_days
    key = _logs_key(names, targets_output, deploy_tokens=settings.lambda_deployer is None)
    logs = aws.cloudwatch.LogGroup(f"{NAME}-pipeline-logs", name=f"/aws/vendedlogs/states/{names.prefix}-pipeline",
                                   retention_in_days=retention, kms_key_id=key.arn)

    documents = targets_output.apply(lambda t: definitions(plan, t))
    role = aws.iam.Role(f"{NAME}-pipeline-role", assume_role_policy=targets_output.apply(
        lambda t: service_trust_policy("states.amazonaws.com", t.account, [t.machine_arn("*")])))
    _bus_policy(bus, role, targets_output)
    channels = [bus, approvals, notifications, registry, rollout_state]
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
                log_destination=logs.arn.apply(lambda arn: f"{arn}:*"), include_execution_data=False, level="ERROR",
            ),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            opts=pulumi.ResourceOptions(depends_on=[policy, observability, *machines.values()]),
        )
    plans = _plan_bucket(names, targets_output.apply(lambda t: t.account), role)
    pulumi.export("planBucket", plans.bucket)
    if settings.lambda_deployer is None:
        project = _deployer(names, bus, targets_output, settings, key)
        pulumi.export("deployerProject", project.name)
    else:
        function = _lambda_deployer(names, bus, targets_output, settings.lambda_deployer, retention, key)
        pulumi.export("deployerFunction", function.name)
    pulumi.export("eventBus", bus.name)
    pulumi.export("approvalsTopicArn", approvals.arn)
    pulumi.export("notificationsTopicArn", notifications.arn)
    pulumi.export("registryTable", registry.name)
    pulumi.export("rolloutTable", rollout_state.name)
    for kind, machine in machines.items():
        pulumi.export(f"{kind}StateMachineArn", machine.arn)
    return ControlPlane(targets=targets_output, names=names, log_group_arn=logs.arn)


def _cell_table(name: str, table_name: str) -> aws.dynamodb.Table:
    """A table of one item per cell (registry or rollout state): PITR, encrypted, protected."""
    return aws.dynamodb.Table(
        name,
        name=table_name,
        billing_mode="PAY_PER_REQUEST",
        hash_key=CELL_KEY,
        attributes=[aws.dynamodb.TableAttributeArgs(name=CELL_KEY, type="S")],
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        deletion_protection_enabled=True,
    )


MIGRATIONS_ROLE = f"{NAME}-migrations-role"  # migrations.deploy's orchestrator role (Pulumi adds a suffix)
DEPLOY_RULE = "cell-deploy-requested"


def _logs_key(names: Targets, targets: pulumi.Output[Targets], *, deploy_tokens: bool) -> aws.kms.Key:
    """The control plane's customer-managed key (rotated): its log groups, and the CodeBuild deployer's task tokens."""
    def policy(t: Targets) -> str:
        acct = t.account
        admin = ["kms:CancelKeyDeletion", "kms:DescribeKey", "kms:DisableKey", "kms:EnableKey",
                 "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
                 "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
                 "kms:UpdateKeyDescription"]
        use = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
               "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
        return json.dumps({"Version": POLICY_VERSION, "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
             "Action": admin, "Resource": "*"},
            {"Sid": "LogsEncrypt", "Effect": "Allow", "Principal": {"Service": f"logs.{names.region}.amazonaws.com"},
             "Action": use, "Resource": "*",
             "Condition": {"ArnLike": {
                 "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{names.region}:{acct}:log-group:*"}}},
            *([deployer.token_key_statement(t)] if deploy_tokens else []),
        ]}, sort_keys=True)

    return aws.kms.Key(f"{NAME}-logs-key", description="cellfleet control-plane log groups and deploy tokens",
                       enable_key_rotation=True, deletion_window_in_days=30, policy=targets.apply(policy))


def _plan_bucket(names: Targets, account: pulumi.Output[str], role: aws.iam.Role) -> aws.s3.Bucket:
    """The rollout plans (`pipelines.planref`): private, versioned, KMS-encrypted, TLS only.

    `fleet rollout start` writes under `plans/` with the operator's own credentials (IAM in the
    account grants that); the pipeline role reads there only (its policy comes from the
    definitions' ItemReaders, `pipelines.iam`), and may decrypt only through S3.
    """
    def key_policy(args: list[Any]) -> str:
        acct, role_arn = args
        admin = ["kms:CancelKeyDeletion", "kms:DescribeKey", "kms:DisableKey", "kms:EnableKey",
                 "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
                 "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
                 "kms:UpdateKeyDescription"]
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{names.region}.amazonaws.com", "kms:CallerAccount": acct}}
        return json.dumps({"Version": POLICY_VERSION, "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
             "Action": admin, "Resource": "*"},
            {"Sid": "AccountWritesPlansThroughS3", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*", "Condition": via_s3},
            {"Sid": "PipelineReadsPlansThroughS3", "Effect": "Allow", "Principal": {"AWS": role_arn},
             "Action": "kms:Decrypt", "Resource": "*", "Condition": via_s3},
        ]}, sort_keys=True)

    key = aws.kms.Key(f"{NAME}-plans-key", description="cellfleet rollout plans", enable_key_rotation=True,
                      deletion_window_in_days=30, policy=pulumi.Output.all(account, role.arn).apply(key_policy))
    bucket = aws.s3.Bucket(f"{NAME}-plans", bucket=account.apply(
        lambda acct: dataclasses.replace(names, account=acct).plan_bucket))
    aws.s3.BucketOwnershipControls(f"{NAME}-plans-ownership", bucket=bucket.id,
                                   rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"))
    aws.s3.BucketPublicAccessBlock(f"{NAME}-plans-private", bucket=bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)
    aws.s3.BucketVersioning(f"{NAME}-plans-versioning", bucket=bucket.id,
                            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"))
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{NAME}-plans-encryption", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.
            BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=key.arn),
            bucket_key_enabled=True)])

    def bucket_policy(arn: str) -> str:
        return json.dumps({"Version": POLICY_VERSION, "Statement": [
            {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "KmsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"{arn}/*",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        ]}, sort_keys=True)

    aws.s3.BucketPolicy(f"{NAME}-plans-policy", bucket=bucket.id, policy=bucket.arn.apply(bucket_policy))
    return bucket


def _bus_policy(bus: aws.cloudwatch.EventBus, role: aws.iam.Role, targets: pulumi.Output[Targets]) -> None:
    """Only the pipeline's role and the migration orchestrators' role may put events on the bus."""
    def policy(args: list[Any]) -> str:
        role_arn, t = args
        publishers = [role_arn, f"arn:{t.partition}:iam::{t.account}:role/{MIGRATIONS_ROLE}-*"]
        return json.dumps({"Version": POLICY_VERSION, "Statement": [
            {"Sid": "PipelinePublishes", "Effect": "Allow", "Principal": {"AWS": role_arn},
             "Action": "events:PutEvents", "Resource": t.event_bus_arn},
            {"Sid": "NobodyElsePublishes", "Effect": "Deny", "Principal": "*",
             "Action": "events:PutEvents", "Resource": t.event_bus_arn,
             "Condition": {"ArnNotLike": {"aws:PrincipalArn": publishers}}},
        ]}, sort_keys=True)

    aws.cloudwatch.EventBusPolicy(f"{NAME}-bus-policy", event_bus_name=bus.name,
                                  policy=pulumi.Output.all(role.arn, targets).apply(policy))


def _deployer(names: Targets, bus: aws.cloudwatch.EventBus, targets: pulumi.Output[Targets],
              settings: ControlPlaneSettings, key: aws.kms.Key) -> aws.codebuild.Project:
    """EventBridge rule -> hand-off Lambda -> CodeBuild project running the buildspec in `pipelines.deployer`."""
    project_name = deployer.project_name(names)
    logs = aws.cloudwatch.LogGroup(f"{NAME}-deployer-logs", name=f"/aws/codebuild/{project_name}",
                                   retention_in_days=settings.log_retention_days, kms_key_id=key.arn)
    build_role = aws.iam.Role(f"{NAME}-deployer-role", assume_role_policy=targets.apply(
        lambda t: service_trust_policy("codebuild.amazonaws.com", t.account, [deployer.project_arn(t)])))
    repository = settings.repository
    aws.iam.RolePolicy(
        f"{NAME}-deployer-policy", role=build_role.id,
        policy=pulumi.Output.all(targets, key.arn, logs.arn).apply(
            lambda args: json.dumps(deployer.build_policy(args[0], args[1], args[2]), sort_keys=True)),
    )
    source: dict[str, Any] = {"type": "GITHUB", "location": repository} if repository else {"type": "NO_SOURCE"}
    project = aws.codebuild.Project(
        f"{NAME}-cell-deployer",
        name=project_name,
        description="Runs `pulumi up --stack <cell>` for CellDeployRequested events and answers the task token",
        service_role=build_role.arn,
        build_timeout=60,
        artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
        environment=aws.codebuild.ProjectEnvironmentArgs(
            compute_type="BUILD_GENERAL1_SMALL", image="aws/codebuild/standard:7.0", type="LINUX_CONTAINER",
        ),
        source=aws.codebuild.ProjectSourceArgs(buildspec=deployer.buildspec_text(settings.pulumi_cli), **source),
        logs_config=aws.codebuild.ProjectLogsConfigArgs(
            cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(group_name=logs.name),
        ),
    )
    environment = pulumi.Output.all(targets, key.arn).apply(lambda args: deployer.handoff_environment(args[0], args[1]))
    _function_on_rule(
        _Function("deploy-handoff", settings.handoff_source, deployer.HANDOFF_TIMEOUT_SECONDS, environment,
                  "Starts the cell deployer build for CellDeployRequested, the task token kept in Parameter Store"),
        names, bus, targets, settings.log_retention_days, key,
        lambda log_group_arn: pulumi.Output.all(targets, key.arn, log_group_arn).apply(
            lambda args: json.dumps(deployer.handoff_policy(args[0], args[1], args[2]), sort_keys=True)),
    )
    return project


@dataclass(frozen=True)
class _Function:
    """One Lambda answering CellDeployRequested: `<prefix>-<kind>`, its code, timeout, environment."""

    kind: str
    source: Path
    timeout_seconds: int
    environment: pulumi.Input[Mapping[str, str]]
    description: str


def _lambda_deployer(names: Targets, bus: aws.cloudwatch.EventBus, targets: pulumi.Output[Targets],
                     spec: LambdaDeployer, retention: int, key: aws.kms.Key) -> aws.lambda_.Function:
    """EventBridge rule -> the deployer Lambda of `spec`."""
    return _function_on_rule(
        _Function("argocd-deployer", spec.source, spec.timeout_seconds, dict(spec.environment),
                  "Answers CellDeployRequested events through Argo CD and answers the task token"),
        names, bus, targets, retention, key,
        lambda log_group_arn: pulumi.Output.all(targets, log_group_arn).apply(
            lambda args: json.dumps(spec.policy(args[0], args[1]), sort_keys=True)),
        handler=spec.handler,
    )


def _function_on_rule(fn: _Function, names: Targets, bus: aws.cloudwatch.EventBus, targets: pulumi.Output[Targets],
                      retention: int, key: aws.kms.Key, policy: Callable[[pulumi.Output[str]], pulumi.Output[str]],
                      handler: str | None = None) -> aws.lambda_.Function:
    """EventBridge rule -> a Lambda (invoked once: the pipeline's task timeout, not retries, recovers).

    `policy` maps the function's log group ARN to its role's policy.
    """
    function_name = f"{names.prefix}-{fn.kind}"
    logs = aws.cloudwatch.LogGroup(f"{NAME}-{fn.kind}-logs", name=f"/aws/lambda/{function_name}",
                                   retention_in_days=retention, kms_key_id=key.arn)
    role = aws.iam.Role(f"{NAME}-{fn.kind}-role", assume_role_policy=targets.apply(
        lambda t: service_trust_policy("lambda.amazonaws.com", t.account,
                                       [f"arn:{t.partition}:lambda:{t.region}:{t.account}:function:{function_name}"])))
    role_policy = aws.iam.RolePolicy(f"{NAME}-{fn.kind}-policy", role=role.id, policy=policy(logs.arn))
    function = aws.lambda_.Function(
        f"{NAME}-{fn.kind}",
        name=function_name,
        description=fn.description,
        runtime="python3.12",
        handler=handler or f"{fn.source.stem}.handler",
        role=role.arn,
        timeout=fn.timeout_seconds,
        code=pulumi.AssetArchive({fn.source.name: pulumi.FileAsset(str(fn.source))}),
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=fn.environment),
        opts=pulumi.ResourceOptions(depends_on=[logs, role_policy]),
    )
    aws.lambda_.FunctionEventInvokeConfig(f"{NAME}-{fn.kind}-invoke", function_name=function.name,
                                          maximum_retry_attempts=0)
    rule = aws.cloudwatch.EventRule(
        f"{NAME}-deploy-requested", name=DEPLOY_RULE, event_bus_name=bus.name,
        event_pattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [DEPLOY_DETAIL_TYPE]}, sort_keys=True),
    )
    permission = aws.lambda_.Permission(f"{NAME}-{fn.kind}-invoked-by-rule", action="lambda:InvokeFunction",
                                        function=function.name, principal="events.amazonaws.com",
                                        source_arn=rule.arn)
    aws.cloudwatch.EventTarget(f"{NAME}-deploy-requested-target", rule=rule.name, event_bus_name=bus.name,
                               arn=function.arn, opts=pulumi.ResourceOptions(depends_on=[permission]))
    return function
