"""Envoy target: a `RouteConfiguration` (envoy.config.route.v3), as RDS serves it.

Routes match with `path_separated_prefix` (so `/v1` never matches `/v10`) and rewrite
the prefix onto the backend path; clusters are named after the upstreams (`cell_router`).
Lifecycle headers are `response_headers_to_add` on the route and on its local rate limit,
so 429s carry them too; sunset routes are `direct_response` 410; a request without the API
key header gets 401 (key values are checked by the listener's ext_authz, outside this file).
"""

from __future__ import annotations

import json
from typing import Any

from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute
from model.jsonio import dumps

LOCAL_RATELIMIT = "envoy.filters.http.local_ratelimit"
LOCAL_RATELIMIT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
OVERWRITE = "OVERWRITE_IF_EXISTS_OR_ADD"


def _headers(route: EdgeRoute) -> list[dict[str, Any]]:
    return [{"header": {"key": name, "value": value}, "append_action": OVERWRITE} for name, value in route.headers]


def _body(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "body": {"inline_string": json.dumps({"message": message, "status": status}, sort_keys=True)}}


def _percent(key: str) -> dict[str, Any]:
    return {"runtime_key": key, "default_value": {"numerator": 100}}


def _rate_limit(plan: EdgePlan, route: EdgeRoute) -> dict[str, Any]:
    limit = plan.rate_limit
    config: dict[str, Any] = {
        "@type": LOCAL_RATELIMIT_TYPE,
        "stat_prefix": f"edge_{route.slug.replace('-', '_')}",
        "token_bucket": {"max_tokens": limit.rate + limit.burst, "tokens_per_fill": limit.rate, "fill_interval": "1s"},
        "filter_enabled": _percent("edge_rate_limit_enabled"),
        "filter_enforced": _percent("edge_rate_limit_enforced"),
    }
    if route.headers:
        config["response_headers_to_add"] = _headers(route)
    return config


def _routes(plan: EdgePlan, route: EdgeRoute) -> list[dict[str, Any]]:
    match: dict[str, Any] = {"path_separated_prefix": route.path}
    common: dict[str, Any] = {"name": route.slug}
    if route.headers:
        common["response_headers_to_add"] = _headers(route)
    if route.action is Action.GONE:
        return [{**common, "match": match, "direct_response": _body(410, "this API version is gone")}]
    keyed = {**match, "headers": [{"name": plan.api_key_header, "present_match": True}]}
    return [
        {
            **common,
            "match": keyed,
            "route": {"cluster": route.upstream, "prefix_rewrite": route.backend_path},
            "typed_per_filter_config": {LOCAL_RATELIMIT: _rate_limit(plan, route)},
        },
        {**common, "name": f"{route.slug}-no-key", "match": match, "direct_response": _body(401, "missing API key")},
    ]


def envoy_document(plan: EdgePlan) -> dict[str, Any]:
    """The route configuration for the compiled plan (pure)."""
    routes: list[dict[str, Any]] = []
    for route in plan.exposed:
        routes += _routes(plan, route)
    routes.append({"name": "no-route", "match": {"prefix": "/"}, "direct_response": _body(404, "no route for this path")})
    return {
        "name": "cellfleet-landing-zone",
        "virtual_hosts": [{"name": "edge", "domains": ["*"], "routes": routes}],
    }


def render_envoy(plan: EdgePlan) -> str:
    return dumps(envoy_document(plan))
