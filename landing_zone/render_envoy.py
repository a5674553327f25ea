"""Envoy target: a `RouteConfiguration` (envoy.config.route.v3), as RDS serves it.

Routes match with `path_separated_prefix` (so `/v1` never matches `/v10`) and rewrite
the prefix onto the backend path; clusters are named after the upstreams (`cell_router`).
Lifecycle headers are `response_headers_to_add` on the route and on its local rate limit,
so 429s carry them too; sunset routes are `direct_response` 410; a request without the API
key header gets 401 (key values are checked by the listener's ext_authz, outside this file).
Client-sent identity headers (`x-account-id`, `x-cell-id`, `x-edge-route`, `forwarded`,
`x-forwarded-*`) are removed at the virtual host; `x-account-id` is set from the account ext_authz
returns as dynamic metadata (`envoy.filters.http.ext_authz` / `account_id`). Every request also
counts against a per-client-address bucket of the local rate limit.
"""

from __future__ import annotations

import json
from typing import Any

from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute
from model.jsonio import dumps
from model.routes import ACCOUNT_HEADER, CELL_HEADER, FORWARDED_HEADERS, ROUTE_HEADER

LOCAL_RATELIMIT = "envoy.filters.http.local_ratelimit"
LOCAL_RATELIMIT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
OVERWRITE = "OVERWRITE_IF_EXISTS_OR_ADD"
# The listener's ext_authz service checks the key and returns the key's account as dynamic metadata.
ACCOUNT_FROM_AUTHZ = "%DYNAMIC_METADATA(envoy.filters.http.ext_authz:account_id)%"


def _headers(route: EdgeRoute) -> list[dict[str, Any]]:
    return [{"header": {"key": name, "value": value}, "append_action": OVERWRITE} for name, value in route.headers]


def _body(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "body": {"inline_string": json.dumps({"message": message, "status": status}, sort_keys=True)}}


def _percent(key: str) -> dict[str, Any]:
    return {"runtime_key": key, "default_value": {"numerator": 100}}


def _bucket(rate: int, burst: int) -> dict[str, Any]:
    return {"max_tokens": rate + burst, "tokens_per_fill": rate, "fill_interval": "1s"}


def _rate_limit(plan: EdgePlan, name: str, headers: list[dict[str, Any]]) -> dict[str, Any]:
    """Local rate limit: the route's bucket, plus one bucket per client address (an empty descriptor value
    is a wildcard: each address gets its own bucket, up to `max_dynamic_descriptors`)."""
    limit, client = plan.rate_limit, plan.client_rate_limit
    config: dict[str, Any] = {
        "@type": LOCAL_RATELIMIT_TYPE,
        "stat_prefix": f"edge_{name.replace('-', '_')}",
        "token_bucket": _bucket(limit.rate, limit.burst),
        "filter_enabled": _percent("edge_rate_limit_enabled"),
        "filter_enforced": _percent("edge_rate_limit_enforced"),
        "rate_limits": [{"actions": [{"remote_address": {}}]}],
        "descriptors": [
            {"entries": [{"key": "remote_address"}], "token_bucket": _bucket(client.rate, client.burst)}
        ],
        "max_dynamic_descriptors": 100_000,
    }
    if headers:
        config["response_headers_to_add"] = headers
    return config


def _sanitised() -> dict[str, Any]:
    """Client identity headers removed; the account set from ext_authz's metadata (removal runs before adding).

    `x-edge-route` is overwritten per route instead: route-level mutations run before the virtual
    host's, so removing it here would also remove the route's value.
    """
    remove = [ACCOUNT_HEADER, CELL_HEADER, *FORWARDED_HEADERS]
    add = [
        {"header": {"key": ACCOUNT_HEADER, "value": ACCOUNT_FROM_AUTHZ}, "append_action": OVERWRITE},
        {"header": {"key": "x-forwarded-for", "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}, "append_action": OVERWRITE},
    ]
    return {"request_headers_to_remove": remove, "request_headers_to_add": add}


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
            "typed_per_filter_config": {LOCAL_RATELIMIT: _rate_limit(plan, route.slug, _headers(route))},
            "request_headers_to_add": [
                {"header": {"key": ROUTE_HEADER, "value": route.path}, "append_action": OVERWRITE},
            ],
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
        "virtual_hosts": [
            {
                "name": "edge",
                "domains": ["*"],
                "routes": routes,
                **_sanitised(),
                # every request, 401/404 answers included, counts against its client address
                "typed_per_filter_config": {LOCAL_RATELIMIT: _rate_limit(plan, "edge", [])},
            }
        ],
    }


def render_envoy(plan: EdgePlan) -> str:
    return dumps(envoy_document(plan))
