"""The `landing-zone` stack under Pulumi's mocks: API Gateway edge, usage plan, cell router."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fleet.loader import load_fleet
from fleet.mocking import Inventory, Registered, run_program
from fleet.stacks import program_for
from landing_zone.lifecycle import compile_edge
from landing_zone.render_aws import openapi_document
from landing_zone.routes import load_routes
from tests.landing_zone.lz_support import DAY_SUNSET, REPO

CONFIG = {"cellfleet:gatewayAt": DAY_SUNSET.isoformat(), "cellfleet:apiKeys": "acme,globex", "aws:region": "us-east-1"}


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    fleet = load_fleet(REPO)
    return run_program(program_for("landing-zone", fleet), stack="landing-zone", config=CONFIG)


def one(inventory: Inventory, type_: str) -> Registered:
    [found] = inventory.of_type(type_)
    return found


def test_rest_api_body_is_the_rendered_openapi_pointing_at_the_router(inventory: Inventory) -> None:
    url = one(inventory, "aws:lambda/functionUrl:FunctionUrl").state["functionUrl"].rstrip("/")
    api = one(inventory, "aws:apigateway/restApi:RestApi")
    routes = load_routes(REPO)
    expected = openapi_document(compile_edge(routes, DAY_SUNSET, {"cell_router": url}))
    assert json.loads(api.inputs["body"]) == expected
    assert api.inputs["apiKeySource"] == "HEADER"


def test_stage_throttling_usage_plan_and_keys(inventory: Inventory) -> None:
    rate_limit = load_routes(REPO).config.defaults.rate_limit
    settings = one(inventory, "aws:apigateway/methodSettings:MethodSettings").inputs
    assert settings["methodPath"] == "*/*"
    assert settings["settings"] == {
        "throttlingRateLimit": rate_limit.rate,
        "throttlingBurstLimit": rate_limit.rate + rate_limit.burst,
    }
    plan = one(inventory, "aws:apigateway/usagePlan:UsagePlan").inputs
    assert plan["throttleSettings"] == {"rateLimit": rate_limit.rate, "burstLimit": rate_limit.rate + rate_limit.burst}
    assert plan["apiStages"][0]["stage"] == "live"
    keys = sorted(k.inputs["name"] for k in inventory.of_type("aws:apigateway/apiKey:ApiKey"))
    assert keys == ["cellfleet-acme", "cellfleet-globex"]
    assert len(inventory.of_type("aws:apigateway/usagePlanKey:UsagePlanKey")) == 2
    assert "value" not in inventory.of_type("aws:apigateway/apiKey:ApiKey")[0].inputs  # AWS generates the secrets


def test_cell_router_lambda_table_and_least_privilege_role(inventory: Inventory) -> None:
    table = one(inventory, "aws:dynamodb/table:Table").inputs
    assert table["hashKey"] == "account_id"
    function = one(inventory, "aws:lambda/function:Function").inputs
    assert function["handler"] == "cell_router.handler"
    assert function["environment"]["variables"]["TABLE_NAME"] == table["name"]
    policy = json.loads(one(inventory, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert sorted(actions) == ["dynamodb:GetItem", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert not any("*" in a for a in actions)
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "*" not in resources
    assert resources[0].startswith("arn:aws:mock:::table/")
    url = one(inventory, "aws:lambda/functionUrl:FunctionUrl").inputs
    assert url["authorizationType"] == "NONE"


def test_outputs(inventory: Inventory) -> None:
    assert inventory.outputs["gateway_at"] == "2025-07-01"
    assert inventory.outputs["edge_url"].endswith("/live")
    assert inventory.outputs["customer_cells_table"] == "cellfleet-customer-cells"


def test_stack_refuses_a_version_some_cell_lacks(fleet_copy: Callable[..., Path]) -> None:
    root = fleet_copy(lambda text: text.replace("    status: disabled\n", "    status: active\n"))
    fleet = load_fleet(root)
    with pytest.raises(Exception, match="enterprise-us-hipaa"):
        run_program(program_for("landing-zone", fleet), stack="landing-zone", config=CONFIG)
