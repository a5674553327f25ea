"""nginx target: a complete `nginx.conf` for the edge.

Paths (pid, logs, temp) are relative to nginx's prefix, so the same file runs at a real
edge (`nginx -p /etc/cellfleet-edge -c nginx.conf`) and in tests. API keys come from
`api-keys.d/*.map` beside the config (lines `"<key>" 1;`), issued outside this repository.
Each route is an exact location plus a `/`-terminated prefix location, so `/v1` never
matches `/v10`; lifecycle headers use `add_header ... always` so 401/403/410/429 carry them.
"""

from __future__ import annotations

import json

from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute

KEYS_GLOB = "api-keys.d/*.map"
ZONE = "per_api_key"


def quote(value: str) -> str:
    """An nginx single-quoted string (values are validated to hold no `$`)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def header_variable(header: str) -> str:
    return "$http_" + header.lower().replace("-", "_")


def _body(status: int, message: str, extra: dict[str, str] | None = None) -> str:
    return quote(json.dumps({"message": message, "status": status, **(extra or {})}, sort_keys=True))


def _location(plan: EdgePlan, route: EdgeRoute, exact: bool) -> list[str]:
    match = f"= {route.path}" if exact else f"{route.path}/"
    lines = [f"        location {match} {{"]
    lines += [f"            add_header {name} {quote(value)} always;" for name, value in route.headers]
    if route.action is Action.GONE:
        link = dict(route.headers).get("Link", "")
        lines.append(f"            return 410 {_body(410, 'this API version is gone', {'link': link})};")
    else:
        key = header_variable(plan.api_key_header)
        target = route.backend_url if exact else route.backend_url + "/"
        lines += [
            f'            if ({key} = "") {{ return 401 {_body(401, "missing API key")}; }}',
            f"            if ($cellfleet_api_key_ok = 0) {{ return 403 {_body(403, 'invalid API key')}; }}",
            f"            limit_req zone={ZONE} burst={plan.rate_limit.burst} nodelay;",
            f"            proxy_set_header X-Edge-Route {quote(route.path)};",
            "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            f"            proxy_pass {target};",
        ]
    lines.append("        }")
    return lines


def render_nginx(plan: EdgePlan, listen: str = "8080") -> str:
    """The edge's nginx.conf for the compiled plan (pure)."""
    key = header_variable(plan.api_key_header)
    out = [
        f"# cellfleet landing zone edge, generated for {plan.at.isoformat()}; do not edit by hand.",
        "worker_processes 1;",
        "pid logs/nginx.pid;",
        "error_log logs/error.log warn;",
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        "    access_log logs/access.log;",
        "    client_body_temp_path temp/client_body;",
        "    proxy_temp_path temp/proxy;",
        "    fastcgi_temp_path temp/fastcgi;",
        "    uwsgi_temp_path temp/uwsgi;",
        "    scgi_temp_path temp/scgi;",
        "    server_tokens off;",
        "    default_type application/json;",
        "    proxy_http_version 1.1;",
        "    proxy_ssl_server_name on;  # SNI for https upstreams",
        "",
        f"    map {key} $cellfleet_api_key_ok {{",
        "        default 0;",
        f"        include {KEYS_GLOB};",
        "    }",
        f"    limit_req_zone {key} zone={ZONE}:10m rate={plan.rate_limit.rate}r/s;",
        "    limit_req_status 429;",
        "",
        "    server {",
        f"        listen {listen};",
        "",
    ]
    for route in plan.exposed:
        out.append(f"        # {route.path}: {route.service.value} {route.version}, {route.phase.value}")
        out += _location(plan, route, exact=True)
        out += _location(plan, route, exact=False)
        out.append("")
    out += [
        "        location / {",
        f"            return 404 {_body(404, 'no route for this path')};",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(out) + "\n"
