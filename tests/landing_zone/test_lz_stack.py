"""The `landing-zone` stack under Pulumi's mocks: API Gateway edge, usage plan, cell router."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import landing_zone.stack as lz_stack
from fleet.inputs import load_routes
from fleet.mocking import Inventory, Registered, run_program
from fleet.stacks import program_for
from landing_zone.lifecycle import compile_edge
from landing_zone.render_aws import openapi_document, router_routes
from runtime.cell_router import resolve
from tests.landing_zone.lz_support import DAY_SUNSET, REPO

CONFIG = {"cellfleet:gatewayAt": DAY_SUNSET.isoformat(), "cellfleet:apiKeys": "acme,globex", "aws:region": "us-east-1"}


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return run_program(program_for("landing-zone", REPO), stack="landing-zone", config=CONFIG)


def one(inventory: Inventory, type_: str) -> Registered:
    [found] = inventory.of_type(type_)
    return found


def test_rest_api_body_is_the_rendered_openapi_invoking_the_router(inventory: Inventory) -> None:
    invoke_arn = one(inventory, "aws:lambda/function:Function").state["invokeArn"]
    api = one(inventory, "aws:apigateway/restApi:RestApi")
    expected = openapi_document(compile_edge(load_routes(REPO), DAY_SUNSET), invoke_arn)
    body = json.loads(api.inputs["body"])
    assert body == expected
    assert api.inputs["apiKeySource"] == "HEADER"
    integrations = [op["x-amazon-apigateway-integration"] for item in body["paths"].values() for op in item.values()]
    routed = [i for i in integrations if i["type"] != "mock"]
    assert routed
    assert all((i["type"], i["httpMethod"], i["uri"]) == ("aws_proxy", "POST", invoke_arn) for i in routed)


def test_router_is_reachable_only_through_the_api_stage(inventory: Inventory) -> None:
    assert inventory.of_type("aws:lambda/functionUrl:FunctionUrl") == []
    api = one(inventory, "aws:apigateway/restApi:RestApi").state
    function = one(inventory, "aws:lambda/function:Function")
    [permission] = inventory.of_type("aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["function"] == function.inputs["name"]
    assert permission.inputs["sourceArn"] == f"{api['executionArn']}/live/*/*"
    assert "functionUrlAuthType" not in permission.inputs
    assert "cell_router_url" not in inventory.outputs


def test_router_environment_carries_the_days_route_table(inventory: Inventory) -> None:
    variables = one(inventory, "aws:lambda/function:Function").inputs["environment"]["variables"]
    table = json.loads(variables["EDGE_ROUTES"])
    assert table == router_routes(compile_edge(load_routes(REPO), DAY_SUNSET))
    path, headers = resolve(table, "/v1/Calls/{proxy+}", "CA1") or ("", {})
    assert path == "/voice/v1/calls/CA1"
    assert headers["sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert resolve(table, "/v0/Messages", None) is None  # past its sunset: the gateway answers 410 itself


def test_stage_throttling_usage_plan_and_keys(inventory: Inventory) -> None:
    defaults = load_routes(REPO).config.defaults
    rate_limit, stage_limit = defaults.rate_limit, defaults.stage_rate_limit
    settings = one(inventory, "aws:apigateway/methodSettings:MethodSettings").inputs
    assert settings["methodPath"] == "*/*"
    assert settings["settings"] == {
        "throttlingRateLimit": stage_limit.rate,
        "throttlingBurstLimit": stage_limit.rate + stage_limit.burst,
        "loggingLevel": "ERROR",
        "dataTraceEnabled": False,  # no request or response data (keys, tokens, bodies) in execution logs
        "metricsEnabled": True,
        "cachingEnabled": False,
        "cacheDataEncrypted": True,
    }
    assert settings["settings"]["throttlingRateLimit"] > rate_limit.rate  # the stage is above one key's limit
    plan = one(inventory, "aws:apigateway/usagePlan:UsagePlan").inputs
    assert plan["throttleSettings"] == {"rateLimit": rate_limit.rate, "burstLimit": rate_limit.rate + rate_limit.burst}
    assert plan["apiStages"][0]["stage"] == "live"
    keys = sorted(k.inputs["name"] for k in inventory.of_type("aws:apigateway/apiKey:ApiKey"))
    assert keys == ["cellfleet-acme", "cellfleet-globex"]
    assert len(inventory.of_type("aws:apigateway/usagePlanKey:UsagePlanKey")) == 2
    assert "value" not in inventory.of_type("aws:apigateway/apiKey:ApiKey")[0].inputs  # AWS generates the secrets


def test_cell_router_lambda_table_and_least_privilege_role(inventory: Inventory) -> None:
    table = one(inventory, "aws:dynamodb/table:Table").inputs
    assert table["hashKey"] == "api_key_id"  # the authenticated key, not a client header, picks the account
    assert table["deletionProtectionEnabled"] is True
    assert table["pointInTimeRecovery"] == {"enabled": True}
    function = one(inventory, "aws:lambda/function:Function").inputs
    assert function["handler"] == "cell_router.handler"
    assert function["environment"]["variables"]["TABLE_NAME"] == table["name"]
    [policy] = [
        json.loads(p.inputs["policy"]) for p in inventory.of_type("aws:iam/rolePolicy:RolePolicy") if "cell-router" in p.name
    ]
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert sorted(actions) == ["dynamodb:GetItem", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert not any("*" in a for a in actions)
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "*" not in resources
    assert resources[0].startswith("arn:aws:mock:::table/")


def test_outputs(inventory: Inventory) -> None:
    assert inventory.outputs["gateway_at"] == "2025-07-01"
    assert inventory.outputs["edge_url"].endswith("/live")
    assert inventory.outputs["customer_cells_table"] == "cellfleet-customer-cells"


def test_stack_refuses_a_version_some_cell_lacks(fleet_copy: Callable[..., Path]) -> None:
    root = fleet_copy(lambda text: text.replace("    status: disabled\n", "    status: active\n"))
    with pytest.raises(Exception, match="enterprise-us-hipaa"):
        run_program(program_for("landing-zone", root), stack="landing-zone", config=CONFIG)


def test_route_table_too_big_for_the_lambda_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lz_stack, "ENV_BUDGET", 200)
    with pytest.raises(ValueError, match="exceeds Lambda's 200-byte limit"):
        lz_stack._router_environment("cellfleet-customer-cells", compile_edge(load_routes(REPO), DAY_SUNSET))


def test_stage_has_access_logs_xray_and_a_client_certificate(inventory: Inventory) -> None:
    stage = one(inventory, "aws:apigateway/stage:Stage").inputs
    assert stage["xrayTracingEnabled"] is True
    assert stage["clientCertificateId"] == one(inventory, "aws:apigateway/clientCertificate:ClientCertificate").state["id"]
    groups = {g.inputs["name"]: g for g in inventory.of_type("aws:cloudwatch/logGroup:LogGroup")}
    access = groups["/aws/apigateway/cellfleet-landing-zone/access"]
    assert stage["accessLogSettings"]["destinationArn"] == access.state["arn"]
    assert set(json.loads(stage["accessLogSettings"]["format"])) >= {"requestId", "apiKeyId", "sourceIp", "status"}
    api_id = one(inventory, "aws:apigateway/restApi:RestApi").state["id"]
    assert f"API-Gateway-Execution-Logs_{api_id}/live" in groups
    account = one(inventory, "aws:apigateway/account:Account").inputs
    roles = {r.state["arn"]: r for r in inventory.of_type("aws:iam/role:Role")}
    trust = json.loads(roles[account["cloudwatchRoleArn"]].inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_every_log_group_is_kept_a_year_and_encrypted_with_the_edge_key(inventory: Inventory) -> None:
    key = one(inventory, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    policy = json.loads(key.inputs["policy"])
    logs = next(s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncrypts")
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert not [a for st in policy["Statement"] for a in st["Action"] if "*" in a]  # no wildcard actions, admin included
    groups = inventory.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 4  # access, execution, WAF, cell router
    for group in groups:
        assert group.inputs["retentionInDays"] == 365
        assert group.inputs["kmsKeyId"] == key.state["arn"]


def test_waf_web_acl_with_a_per_ip_rate_rule_is_on_the_stage(inventory: Inventory) -> None:
    acl = one(inventory, "aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["scope"] == "REGIONAL"
    rate = next(r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"])
    statement = rate["statement"]["rateBasedStatement"]
    assert statement["aggregateKeyType"] == "IP"
    assert "block" in rate["action"]
    client = load_routes(REPO).config.defaults.client_rate_limit
    assert statement["limit"] == client.rate * statement["evaluationWindowSec"] + client.burst
    logging = one(inventory, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs
    assert logging["resourceArn"] == acl.state["arn"]
    assert logging["redactedFields"] == [{"singleHeader": {"name": "x-api-key"}}]  # no key values in WAF logs
    association = one(inventory, "aws:wafv2/webAclAssociation:WebAclAssociation").inputs
    assert association["webAclArn"] == acl.state["arn"]
    assert association["resourceArn"] == one(inventory, "aws:apigateway/stage:Stage").state["arn"]


def test_cloudwatch_role_writes_only_log_groups(inventory: Inventory) -> None:
    policies = [json.loads(p.inputs["policy"]) for p in inventory.of_type("aws:iam/rolePolicy:RolePolicy")]
    statements = [s for p in policies for s in p["Statement"]]
    assert all("*" not in a for s in statements for a in s["Action"])
    logs = next(s for s in statements if s["Sid"] == "WriteApiGatewayLogs")
    assert logs["Resource"] == ["arn:aws:logs:us-east-1:123456789012:log-group:*"]
