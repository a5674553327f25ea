"""AWS target: an API Gateway REST API as an OpenAPI 3 document with integrations.

Routed paths are `http_proxy` integrations to the cell router; the lifecycle headers are
handed to the router as `x-edge-set-<name>` request headers, which it returns on the
response (REST API proxy integrations cannot add response headers themselves). Sunset paths
are `mock` integrations answering 410 with the headers. Every operation requires an API key
(usage plans and stage throttling are set by the landing-zone stack).
"""

from __future__ import annotations

import json
from typing import Any

from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute

METHODS = ("delete", "get", "patch", "post", "put")
SECURITY = "api_key"
SET_HEADER_PREFIX = "x-edge-set-"


def _header_params(route: EdgeRoute) -> dict[str, str]:
    params = {"integration.request.header.x-edge-route": f"'{route.path}'"}
    for name, value in route.headers:
        params[f"integration.request.header.{SET_HEADER_PREFIX}{name.lower()}"] = f"'{value}'"
    return params


def _proxied(route: EdgeRoute, proxy: bool) -> dict[str, Any]:
    uri = route.backend_url + ("/{proxy}" if proxy else "")
    params = _header_params(route)
    operation: dict[str, Any] = {
        "security": [{SECURITY: []}],
        "responses": {"default": {"description": "the cell's answer, passed through"}},
        "x-amazon-apigateway-integration": {
            "type": "http_proxy",
            "httpMethod": "ANY",
            "uri": uri,
            "passthroughBehavior": "when_no_match",
            "requestParameters": params,
        },
    }
    if proxy:
        operation["parameters"] = [{"name": "proxy+", "in": "path", "required": True, "schema": {"type": "string"}}]
        params["integration.request.path.proxy"] = "method.request.path.proxy"
    return operation


def _gone(route: EdgeRoute, proxy: bool) -> dict[str, Any]:
    headers = {name: {"schema": {"type": "string"}} for name, _ in route.headers}
    body = json.dumps({"message": "this API version is gone", "status": 410}, sort_keys=True)
    operation: dict[str, Any] = {
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


def openapi_document(plan: EdgePlan, title: str = "cellfleet-landing-zone") -> dict[str, Any]:
    """The REST API definition for the compiled plan (pure)."""
    paths: dict[str, Any] = {}
    for route in plan.exposed:
        build = _gone if route.action is Action.GONE else _proxied
        for proxy in (False, True):
            path = route.path + ("/{proxy+}" if proxy else "")
            paths[path] = {method: build(route, proxy) for method in METHODS}
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
    }


def render_aws(plan: EdgePlan) -> str:
    return json.dumps(openapi_document(plan), sort_keys=True, indent=2) + "\n"
