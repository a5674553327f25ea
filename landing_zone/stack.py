"""The `landing-zone` Pulumi stack: API Gateway edge + the cell router Lambda and its table.

The tool (`fleet.stacks`) reads the stack's config, compiles the edge for the lifecycle day
and runs the readiness gate; this module builds the resources from that plan.

The cell router has no function URL: API Gateway invokes it through Lambda proxy
integrations, allowed by a resource policy scoped to this API's stage, so every request
passes the edge's API keys, usage plan and throttling. The day's route table
(`render_aws.router_routes`) goes into the router's `EDGE_ROUTES` environment variable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from landing_zone.lifecycle import EdgePlan
from landing_zone.render_aws import openapi_document, router_routes
from model.contract import DEFAULT_ROUTER_TABLE, ROUTER_KEY
from model.iam import assume_role_policy

ROUTER_NAME = "cellfleet-cell-router"
DEFAULT_CELL_HOST_SUFFIX = "cells.cellfleet.internal"  # cell endpoints in the router table must be https under it
LOG_RETENTION_DAYS = 365
KEY_ADMIN_ACTIONS = tuple(f"kms:{a}" for a in (
    "CancelKeyDeletion", "CreateAlias", "CreateGrant", "DeleteAlias", "DescribeKey", "DisableKey", "DisableKeyRotation",
    "EnableKey", "EnableKeyRotation", "GetKeyPolicy", "GetKeyRotationStatus", "ListAliases", "ListGrants",
    "ListResourceTags", "PutKeyPolicy", "RevokeGrant", "ScheduleKeyDeletion", "TagResource", "UntagResource",
    "UpdateAlias", "UpdateKeyDescription",
))
KEY_USE_ACTIONS = tuple(f"kms:{a}" for a in (
    "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
))
# Every field of the access log is a `$context` variable API Gateway fills in; no headers, no bodies.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "apiKeyId": "$context.identity.apiKeyId",
    "sourceIp": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "wafStatus": "$context.waf.status",
    "requestTime": "$context.requestTimeEpoch",
}
ENV_BUDGET = 4096  # Lambda's limit on the total size of a function's environment variables


def _lambda_role(table: aws.dynamodb.Table, log_group: aws.cloudwatch.LogGroup) -> aws.iam.Role:
    role = aws.iam.Role(
        "cell-router-role",
        assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
    )
    aws.iam.RolePolicy(
        "cell-router-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "ReadPlacements", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [table.arn]},
                    {
                        "Sid": "WriteLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": [pulumi.Output.concat(log_group.arn, ":*")],
                    },
                ],
            }
        ),
    )
    return role


def _router_environment(table_name: str, plan: EdgePlan, host_suffix: str = DEFAULT_CELL_HOST_SUFFIX) -> dict[str, str]:
    routes = json.dumps(router_routes(plan), sort_keys=True, separators=(",", ":"))
    variables = {
        "TABLE_NAME": table_name,
        "CELL_HOST_SUFFIX": host_suffix,
        "CACHE_TTL": "60",
        "CACHE_SIZE": "1024",
        "DEADLINE": "10",
        "EDGE_ROUTES": routes,
    }
    size = sum(len(k) + len(v) for k, v in variables.items())
    if size > ENV_BUDGET:
        raise ValueError(f"the cell router's environment ({size} bytes) exceeds Lambda's {ENV_BUDGET}-byte limit")
    return variables


@dataclass(frozen=True)
class LandingZoneSettings:
    """What the stack's config chooses, and where the router's code is."""

    router_source: Path  # runtime/cell_router.py, shipped as the Lambda's code
    key_names: tuple[str, ...] = ("default",)
    stage_name: str = "live"
    router_table: str = DEFAULT_ROUTER_TABLE
    cell_host_suffix: str = DEFAULT_CELL_HOST_SUFFIX


def _cell_router(
    settings: LandingZoneSettings, plan: EdgePlan, logs_key: aws.kms.Key
) -> tuple[aws.lambda_.Function, aws.dynamodb.Table]:
    table_name, source = settings.router_table, settings.router_source
    table = aws.dynamodb.Table(
        "customer-cells",
        name=table_name,
        attributes=[aws.dynamodb.TableAttributeArgs(name=ROUTER_KEY, type="S")],
        hash_key=ROUTER_KEY,
        billing_mode="PAY_PER_REQUEST",
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        deletion_protection_enabled=True,
    )
    log_group = aws.cloudwatch.LogGroup(
        "cell-router-logs", name=f"/aws/lambda/{ROUTER_NAME}", retention_in_days=LOG_RETENTION_DAYS, kms_key_id=logs_key.arn
    )
    role = _lambda_role(table, log_group)
    function = aws.lambda_.Function(
        "cell-router",
        name=ROUTER_NAME,
        runtime="python3.12",
        handler="cell_router.handler",
        role=role.arn,
        timeout=15,
        memory_size=256,
        code=pulumi.AssetArchive({"cell_router.py": pulumi.FileAsset(str(source))}),
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables=_router_environment(table_name, plan, settings.cell_host_suffix)
        ),
        opts=pulumi.ResourceOptions(depends_on=[log_group]),
    )
    return function, table


def _logs_key(account: pulumi.Output[str], region: pulumi.Output[str]) -> aws.kms.Key:
    """The KMS key of the edge's log groups: the account administers it, CloudWatch Logs uses it for them."""
    policy = pulumi.Output.all(account, region).apply(
        lambda ar: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ar[0]}:root"},
                        "Action": list(KEY_ADMIN_ACTIONS),
                        "Resource": "*",  # in a key policy, "*" is this key
                    },
                    {
                        "Sid": "CloudWatchLogsEncrypts",
                        "Effect": "Allow",
                        "Principal": {"Service": f"logs.{ar[1]}.amazonaws.com"},
                        "Action": list(KEY_USE_ACTIONS),
                        "Resource": "*",
                        "Condition": {
                            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{ar[1]}:{ar[0]}:log-group:*"}
                        },
                    },
                ],
            },
            sort_keys=True,
        )
    )
    return aws.kms.Key(
        "edge-logs-key",
        description="cellfleet landing zone: API Gateway and cell router log groups",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
    )


def _cloudwatch_role(account: pulumi.Output[str], region: pulumi.Output[str]) -> aws.apigateway.Account:
    """API Gateway's account-level role for execution and access logs (log groups of this region only)."""
    trust = account.apply(
        lambda a: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": a}},
                    }
                ],
            },
            sort_keys=True,
        )
    )
    role = aws.iam.Role("edge-cloudwatch-role", assume_role_policy=trust)
    groups = pulumi.Output.all(account, region).apply(lambda ar: f"arn:aws:logs:{ar[1]}:{ar[0]}:log-group:*")
    aws.iam.RolePolicy(
        "edge-cloudwatch-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "WriteApiGatewayLogs",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:DescribeLogGroups",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                        ],
                        "Resource": [groups],
                    }
                ],
            }
        ),
    )
    return aws.apigateway.Account("edge-account", cloudwatch_role_arn=role.arn)


def _firewall(plan: EdgePlan, stage: aws.apigateway.Stage, logs_key: aws.kms.Key) -> aws.wafv2.WebAcl:
    """A regional web ACL on the stage: a per-IP rate-based rule, then AWS's common and bad-input rule sets."""

    def visibility(name: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
        return aws.wafv2.WebAclRuleVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        )

    def managed(name: str, priority: int) -> aws.wafv2.WebAclRuleArgs:
        return aws.wafv2.WebAclRuleArgs(
            name=name,
            priority=priority,
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]  # no fields
            ),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    name=name, vendor_name="AWS"
                )
            ),
            visibility_config=visibility(name),
        )

    acl = aws.wafv2.WebAcl(
        "edge-waf",
        name="cellfleet-landing-zone",
        scope="REGIONAL",
        default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
        rules=[
            aws.wafv2.WebAclRuleArgs(
                name="per-client-rate",
                priority=0,
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        aggregate_key_type="IP",
                        evaluation_window_sec=WAF_WINDOW_SECONDS,
                        limit=waf_rate_limit(plan),
                    )
                ),
                visibility_config=visibility("per-client-rate"),
            ),
            managed("AWSManagedRulesCommonRuleSet", 1),
            managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
        ],
        visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name="cellfleet-landing-zone", sampled_requests_enabled=True
        ),
    )
    aws.wafv2.WebAclAssociation("edge-waf-association", resource_arn=stage.arn, web_acl_arn=acl.arn)
    # WAF requires the `aws-waf-logs-` prefix; the API key header is redacted from every record.
    waf_logs = aws.cloudwatch.LogGroup(
        "edge-waf-logs",
        name="aws-waf-logs-cellfleet-landing-zone",
        retention_in_days=LOG_RETENTION_DAYS,
        kms_key_id=logs_key.arn,
    )
    aws.wafv2.WebAclLoggingConfiguration(
        "edge-waf-logging",
        resource_arn=acl.arn,
        log_destination_configs=[waf_logs.arn],
        redacted_fields=[
            aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=plan.api_key_header.lower())
            )
        ],
    )
    return acl


WAF_WINDOW_SECONDS = 300


def waf_rate_limit(plan: EdgePlan) -> int:
    """Requests per client IP per WAF window: the edge's per-client rate plus its burst (WAF's minimum is 10)."""
    limit = plan.client_rate_limit
    return max(10, limit.rate * WAF_WINDOW_SECONDS + limit.burst)


def _edge(plan: EdgePlan, router: aws.lambda_.Function, settings: LandingZoneSettings, logs_key: aws.kms.Key,
          account: aws.apigateway.Account) -> pulumi.Output[str]:
    stage_name, key_names = settings.stage_name, settings.key_names
    api = aws.apigateway.RestApi(
        "edge",
        name="cellfleet-landing-zone",
        body=router.invoke_arn.apply(lambda uri: json.dumps(openapi_document(plan, uri), sort_keys=True)),
        api_key_source="HEADER",
        put_rest_api_mode="overwrite",
        endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
    )
    deployment = aws.apigateway.Deployment(
        "edge-deployment",
        rest_api=api.id,
        triggers={"body": api.body.apply(lambda b: hashlib.sha256((b or "").encode()).hexdigest())},
    )
    access_logs = aws.cloudwatch.LogGroup(
        "edge-access-logs",
        name="/aws/apigateway/cellfleet-landing-zone/access",
        retention_in_days=LOG_RETENTION_DAYS,
        kms_key_id=logs_key.arn,
    )
    # API Gateway writes execution logs to this fixed name; created here to own retention and encryption.
    execution_logs = aws.cloudwatch.LogGroup(
        "edge-execution-logs",
        name=pulumi.Output.concat("API-Gateway-Execution-Logs_", api.id, "/", stage_name),
        retention_in_days=LOG_RETENTION_DAYS,
        kms_key_id=logs_key.arn,
    )
    certificate = aws.apigateway.ClientCertificate("edge-client-certificate", description="cellfleet edge to backends")
    stage = aws.apigateway.Stage(
        "edge-stage",
        rest_api=api.id,
        deployment=deployment.id,
        stage_name=stage_name,
        xray_tracing_enabled=True,
        client_certificate_id=certificate.id,
        access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
            destination_arn=access_logs.arn, format=json.dumps(ACCESS_LOG_FORMAT, sort_keys=True)
        ),
        opts=pulumi.ResourceOptions(depends_on=[account, execution_logs]),
    )
    aws.lambda_.Permission(
        "cell-router-invoke",
        action="lambda:InvokeFunction",
        function=router.name,
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(api.execution_arn, "/", stage.stage_name, "/*/*"),
    )
    limit, stage_limit = plan.rate_limit, plan.stage_rate_limit
    aws.apigateway.MethodSettings(
        "edge-method-settings",
        rest_api=api.id,
        stage_name=stage.stage_name,
        method_path="*/*",
        settings=aws.apigateway.MethodSettingsSettingsArgs(
            # Execution logs at ERROR without request/response data: no keys, tokens or bodies in logs.
            logging_level="ERROR",
            data_trace_enabled=False,
            metrics_enabled=True,
            caching_enabled=False,
            cache_data_encrypted=True,
            throttling_rate_limit=float(stage_limit.rate),
            throttling_burst_limit=stage_limit.rate + stage_limit.burst,
        ),
    )
    plan_resource = aws.apigateway.UsagePlan(
        "edge-usage-plan",
        name="cellfleet-landing-zone",
        api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=api.id, stage=stage.stage_name)],
        throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
            rate_limit=float(limit.rate), burst_limit=limit.rate + limit.burst
        ),
    )
    for key_name in key_names:
        key = aws.apigateway.ApiKey(f"edge-key-{key_name}", name=f"cellfleet-{key_name}", enabled=True)
        aws.apigateway.UsagePlanKey(
            f"edge-key-{key_name}-plan", key_id=key.id, key_type="API_KEY", usage_plan_id=plan_resource.id
        )
    _firewall(plan, stage, logs_key)
    return stage.invoke_url


def build_landing_zone(plan: EdgePlan, settings: LandingZoneSettings) -> None:
    """The edge for a gated plan: REST API, stage, keys and usage plan, the cell router and its table."""
    account = aws.get_caller_identity_output().account_id
    region = aws.get_region_output().region
    logs_key = _logs_key(account, region)
    function, table = _cell_router(settings, plan, logs_key)
    invoke_url = _edge(plan, function, settings, logs_key, _cloudwatch_role(account, region))
    pulumi.export("edge_url", invoke_url)
    pulumi.export("cell_router_function", function.name)
    pulumi.export("customer_cells_table", table.name)
    pulumi.export("gateway_at", plan.at.isoformat())
