"""The `landing-zone` Pulumi stack: API Gateway edge + the cell router Lambda and its table.

Config (namespace `cellfleet`): `gatewayAt` (YYYY-MM-DD, default today in UTC) picks the
lifecycle day; `apiKeys` (comma-separated names, default `default`) the API keys to issue;
`stageName` (default `live`); `routerTable` (default `cellfleet-customer-cells`).
The readiness gate runs first: a version some cell lacks fails the preview.

The cell router has no function URL: API Gateway invokes it through Lambda proxy
integrations, allowed by a resource policy scoped to this API's stage, so every request
passes the edge's API keys, usage plan and throttling. The day's route table
(`render_aws.router_routes`) goes into the router's `EDGE_ROUTES` environment variable.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pulumi
import pulumi_aws as aws

from fleet.contract import CONFIG_NAMESPACE
from fleet.model import Fleet
from landing_zone.lifecycle import EdgePlan, compile_edge
from landing_zone.readiness import declared_support, gate
from landing_zone.render_aws import openapi_document, router_routes
from landing_zone.routes import load_routes

ROUTER_SOURCE = Path(__file__).resolve().parent / "cell_router.py"
DEFAULT_ROUTER_TABLE = "cellfleet-customer-cells"
ROUTER_NAME = "cellfleet-cell-router"
ENV_BUDGET = 4096  # Lambda's limit on the total size of a function's environment variables


def _lambda_role(table: aws.dynamodb.Table, log_group: aws.cloudwatch.LogGroup) -> aws.iam.Role:
    role = aws.iam.Role(
        "cell-router-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            sort_keys=True,
        ),
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


def _cell_router(table_name: str, plan: EdgePlan) -> tuple[aws.lambda_.Function, aws.dynamodb.Table]:
    table = aws.dynamodb.Table(
        "customer-cells",
        name=table_name,
        attributes=[aws.dynamodb.TableAttributeArgs(name="account_id", type="S")],
        hash_key="account_id",
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
        code=pulumi.AssetArchive({"cell_router.py": pulumi.FileAsset(str(ROUTER_SOURCE))}),
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=_router_environment(table_name, plan)),
        opts=pulumi.ResourceOptions(depends_on=[log_group]),
    )
    return function, table


def _edge(plan: EdgePlan, router: aws.lambda_.Function, stage_name: str, key_names: list[str]) -> pulumi.Output[str]:
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


def program(fleet: Fleet) -> None:
    """Pulumi program for the `landing-zone` stack (routes config read from the fleet's root)."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    at_text = config.get("gatewayAt")
    at = date.fromisoformat(at_text) if at_text else datetime.now(UTC).date()
    routes = load_routes(fleet.root)
    plan = compile_edge(routes, at)
    gate(routes, plan, declared_support(fleet), fleet.ids)
    keys = [k.strip() for k in (config.get("apiKeys") or "default").split(",") if k.strip()]
    function, table = _cell_router(config.get("routerTable") or DEFAULT_ROUTER_TABLE, plan)
    invoke_url = _edge(plan, function, config.get("stageName") or "live", keys)
    pulumi.export("edge_url", invoke_url)
    pulumi.export("cell_router_function", function.name)
    pulumi.export("customer_cells_table", table.name)
    pulumi.export("gateway_at", at.isoformat())
