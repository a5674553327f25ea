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


def _router_environment(table_name: str, plan: EdgePlan) -> dict[str, str]:
    routes = json.dumps(router_routes(plan), sort_keys=True, separators=(",", ":"))
    variables = {"TABLE_NAME": table_name, "ACCOUNT_HEADER": "x-account-id", "CACHE_TTL": "60", "EDGE_ROUTES": routes}
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


def _cell_router(table_name: str, plan: EdgePlan, source: Path) -> tuple[aws.lambda_.Function, aws.dynamodb.Table]:
    table = aws.dynamodb.Table(
        "customer-cells",
        name=table_name,
        attributes=[aws.dynamodb.TableAttributeArgs(name=ROUTER_KEY, type="S")],
        hash_key=ROUTER_KEY,
        billing_mode="PAY_PER_REQUEST",
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
    )
    log_group = aws.cloudwatch.LogGroup("cell-router-logs", name=f"/aws/lambda/{ROUTER_NAME}", retention_in_days=30)
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
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=_router_environment(table_name, plan)),
        opts=pulumi.ResourceOptions(depends_on=[log_group]),
    )
    return function, table


def _edge(plan: EdgePlan, router: aws.lambda_.Function, stage_name: str, key_names: tuple[str, ...]) -> pulumi.Output[str]:
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
    stage = aws.apigateway.Stage("edge-stage", rest_api=api.id, deployment=deployment.id, stage_name=stage_name)
    aws.lambda_.Permission(
        "cell-router-invoke",
        action="lambda:InvokeFunction",
        function=router.name,
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(api.execution_arn, "/", stage.stage_name, "/*/*"),
    )
    limit = plan.rate_limit
    aws.apigateway.MethodSettings(
        "edge-throttling",
        rest_api=api.id,
        stage_name=stage.stage_name,
        method_path="*/*",
        settings=aws.apigateway.MethodSettingsSettingsArgs(
            throttling_rate_limit=float(limit.rate), throttling_burst_limit=limit.rate + limit.burst
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
    return stage.invoke_url


def build_landing_zone(plan: EdgePlan, settings: LandingZoneSettings) -> None:
    """The edge for a gated plan: REST API, stage, keys and usage plan, the cell router and its table."""
    function, table = _cell_router(settings.router_table, plan, settings.router_source)
    invoke_url = _edge(plan, function, settings.stage_name, settings.key_names)
    pulumi.export("edge_url", invoke_url)
    pulumi.export("cell_router_function", function.name)
    pulumi.export("customer_cells_table", table.name)
    pulumi.export("gateway_at", plan.at.isoformat())
