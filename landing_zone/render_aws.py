"""AWS target: an API Gateway REST API as an OpenAPI 3 document with integrations.

Routed paths are Lambda proxy (`aws_proxy`) integrations invoking the cell router, so the
router is reachable only through the stage (no public function URL). Lambda proxy
integrations ignore integration request parameters, so the per-route facts the router needs
(handler path and lifecycle headers) travel as `router_routes(plan)`, a small table the stack
puts in the router's environment; the router looks the event's `resource` up in it and adds
the headers to its response. Sunset paths are `mock` integrations answering 410 with the
headers. Every operation requires an API key (usage plans and stage throttling are set by
the landing-zone stack).
"""

from __future__ import annotations

import json
from typing import Any

from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute
from model.jsonio import dumps

METHODS = ("delete", "get", "patch", "post", "put")
SECURITY = "api_key"
# Offline renderings (CLI, build) name the router by this placeholder; the stack passes the real one.
PLACEHOLDER_FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:cellfleet-cell-router"


def lambda_invoke_uri(function_arn: str) -> str:
    """The API Gateway integration URI that invokes a Lambda function (region taken from its ARN)."""
    region = function_arn.split(":")[3]
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def router_routes(plan: EdgePlan) -> dict[str, dict[str, Any]]:
    """Routed path -> {"backend": handler path, "headers": [[name, value], ...]} for the cell router."""
    return {
        route.path: {"backend": route.backend_path, "headers": [list(h) for h in route.headers]}
        for route in plan.exposed
        if route.action is Action.ROUTE
    }


def _proxied(invoke_uri: str, proxy: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "security": [{SECURITY: []}],
        "responses": {"default": {"description": "the cell's answer, passed through by the cell router"}},
        "x-amazon-apigateway-integration": {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": invoke_uri,
            "passthroughBehavior": "when_no_match",
        },
    }
    if proxy:
        operation["parameters"] = [{"name": "proxy+", "in": "path", "required": True, "schema": {"type": "string"}}]
    return operation


def _gone(route: EdgeRoute, proxy: bool) -> dict[str, Any]:
    headers = {name: {"schema": {"type": "string"}} for name, _ in route.headers}
    body = json.dumps({"message": "this API version is gone", "status": 410}, sort_keys=True)
    operation: dict[str, Any] = {
        "security": [],  # a sunset path answers 410 to anyone, as on every target
        "responses": {"410": {"description": "Gone: past its sunset date", "headers": headers}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": '{"statusCode": 410}'},
            "responses": {
                "default": {
                    "statusCode": "410",
                    "responseParameters": {f"method.response.header.{n}": f"'{v}'" for n, v in route.headers},
                    "responseTemplates": {"application/json": body},
                }
            },
        },
    }
    if proxy:
        operation["parameters"] = [{"name": "proxy+", "in": "path", "required": True, "schema": {"type": "string"}}]
    return operation


def openapi_document(
    plan: EdgePlan, invoke_uri: str | None = None, title: str = "cellfleet-landing-zone"
) -> dict[str, Any]:
    """The REST API definition for the compiled plan (pure); `invoke_uri` is the router's Lambda invoke ARN."""
    uri = invoke_uri or lambda_invoke_uri(PLACEHOLDER_FUNCTION_ARN)
    paths: dict[str, Any] = {}
    for route in plan.exposed:
        for proxy in (False, True):
            path = route.path + ("/{proxy+}" if proxy else "")
            gone = route.action is Action.GONE
            paths[path] = {method: _gone(route, proxy) if gone else _proxied(uri, proxy) for method in METHODS}
    return {
        "openapi": "3.0.1",
        "info": {
            "title": title,
            "description": f"Landing zone edge: API versions routed to the cell router, as of {plan.at.isoformat()}",
            "version": plan.at.isoformat(),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {SECURITY: {"type": "apiKey", "name": plan.api_key_header, "in": "header"}},
        },
        "x-amazon-apigateway-api-key-source": "HEADER",
        "security": [{SECURITY: []}],
        # Stages are HTTPS only; API Gateway ignores this on import (basepath=ignore).
        "servers": [
            {
                "url": "https://{api}.execute-api.{region}.amazonaws.com/{stage}",
                "variables": {n: {"default": n} for n in ("api", "region", "stage")},
            }
        ],
    }


def render_aws(plan: EdgePlan) -> str:
    return dumps(openapi_document(plan))
