"""Kong target: a decK declarative file (`kong.yaml`, format 3.0).

One service per exposed route. Each route matches its path exactly (`~/v1/Messages$`) or
followed by `/` (`/v1/Messages/`), so `/v1` never matches `/v10`; `strip_path` with
`path_handling: v0` maps the rest onto the backend path. Lifecycle headers come from a
`response-transformer` plugin (which also runs on plugin-generated errors), sunset routes
from `request-termination` (410, no key needed, as on the other targets). Routed paths
need an API key (`key-auth`); `rate-limiting` is global, by consumer. Wrong or missing keys run
as the `cellfleet-anonymous` consumer, whose own plugins (more specific than global ones) limit
by client IP and then answer 401, so guesses are throttled. `request-transformer` drops client
identity headers and sets `x-account-id` from the consumer's `custom_id` (the account id);
Kong itself overwrites `X-Forwarded-*` unless `trusted_ips` says otherwise. Consumers and their keys are
managed outside this repository (decK `select_tags` keeps them out of this file's sync).
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute
from model.routes import ACCOUNT_HEADER, CELL_HEADER, FORWARDED_HEADERS, ROUTE_HEADER

TAG = "cellfleet-landing-zone"
# Requests without a valid key run as this consumer, so the per-IP rate limit counts them before the 401.
ANONYMOUS = "cellfleet-anonymous"


def kong_paths(route: EdgeRoute) -> list[str]:
    return [f"~{route.path}$", f"{route.path}/"]


def _route_plugins(plan: EdgePlan, route: EdgeRoute) -> list[dict[str, Any]]:
    plugins: list[dict[str, Any]] = []
    if route.action is Action.ROUTE:
        key_auth = {"key_names": [plan.api_key_header], "hide_credentials": True, "anonymous": ANONYMOUS}
        plugins.append({"name": "key-auth", "config": key_auth, "tags": [TAG]})
        # Client identity headers dropped; the account is the consumer's custom_id, which key-auth sets (or clears).
        transform = {
            "remove": {"headers": [ACCOUNT_HEADER, CELL_HEADER, ROUTE_HEADER, *FORWARDED_HEADERS]},
            "add": {"headers": [f'{ACCOUNT_HEADER}:$(headers["x-consumer-custom-id"])', f"{ROUTE_HEADER}:{route.path}"]},
        }
        plugins.append({"name": "request-transformer", "config": transform, "tags": [TAG]})
    if route.headers:
        headers = [f"{name}:{value}" for name, value in route.headers]
        plugins.append({"name": "response-transformer", "config": {"add": {"headers": headers}}, "tags": [TAG]})
    if route.action is Action.GONE:
        plugins.append(
            {"name": "request-termination", "config": {"status_code": 410, "message": "this API version is gone"}, "tags": [TAG]}
        )
    return plugins


def kong_document(plan: EdgePlan) -> dict[str, Any]:
    """The decK document for the compiled plan (pure)."""
    services = []
    for route in plan.exposed:
        kong_route: dict[str, Any] = {
            "name": route.slug,
            "paths": kong_paths(route),
            "strip_path": True,
            "path_handling": "v0",
            "protocols": ["http", "https"],
            "tags": [TAG],
        }
        kong_route["plugins"] = _route_plugins(plan, route)
        services.append(
            {
                "name": route.slug,
                "url": route.backend_url,
                "tags": [TAG, f"{route.service.value}-{route.version}"],
                "routes": [kong_route],
            }
        )
    return {
        "_format_version": "3.0",
        "_info": {"select_tags": [TAG]},
        "plugins": [
            {
                "name": "rate-limiting",
                "config": {"second": plan.rate_limit.rate, "policy": "local", "limit_by": "consumer"},
                "tags": [TAG],
            },
        ],
        "consumers": [
            {
                "username": ANONYMOUS,
                "tags": [TAG],
                "plugins": [
                    {
                        "name": "rate-limiting",
                        "config": {"second": plan.client_rate_limit.rate, "policy": "local", "limit_by": "ip"},
                        "tags": [TAG],
                    },
                    {
                        "name": "request-termination",
                        "config": {"status_code": 401, "message": "missing or invalid API key"},
                        "tags": [TAG],
                    },
                ],
            }
        ],
        "services": services,
    }


def render_kong(plan: EdgePlan) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    buffer = io.StringIO()
    buffer.write(f"# cellfleet landing zone edge for Kong (decK), generated for {plan.at.isoformat()}\n")
    yaml.dump(kong_document(plan), buffer)
    return buffer.getvalue()
