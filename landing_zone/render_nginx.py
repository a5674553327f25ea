"""nginx target: a complete `nginx.conf` for the edge, built as data with crossplane.

The config is a list of directive dicts serialised by `crossplane.build`, so every argument is
quoted by construction and tests parse it back with `crossplane.parse`. Values from the plan
are also refused at render time when they hold `$` or control characters (nginx would expand
or break on them); the routes model already refuses them at input.

Paths (pid, logs, temp, the API-key maps, default certificate paths) are relative to nginx's
prefix, so the same file runs at a real edge (`nginx -p /etc/cellfleet-edge -c nginx.conf`) and
in tests. API keys come from `api-keys.d/*.map` beside the config, one `"<key>" "<account id>";`
line per key, issued outside this repository: the account forwarded upstream as `X-Account-Id`
is the one the key maps to, never a client header.

Order of checks (nginx phases): `limit_req` (preaccess) runs before `auth_request` (access), so
every request is counted against the per-client-address limit, wrong keys included; valid keys
also count against their own per-key limit. Only an allow-list of request headers is passed
upstream (`proxy_pass_request_headers off`); the edge sets `X-Account-Id`, `X-Edge-Route`,
`X-Forwarded-For` and `X-Forwarded-Proto` itself. Upstream TLS is verified against a trusted CA
file. The listener is TLS with HSTS, or plain HTTP with `plain_http` for a TLS terminator in
front (which then owns HSTS).

Each route is an exact location plus a `/`-terminated prefix location, so `/v1` never matches
`/v10`; lifecycle headers use `add_header ... always` so 401/403/410/429 carry them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import crossplane

from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute
from model.routes import ACCOUNT_HEADER, ROUTE_HEADER

KEYS_GLOB = "api-keys.d/*.map"
KEY_ZONE = "per_api_key"
CLIENT_ZONE = "per_client"
KEY_CHECK = "/_cellfleet/api-key"
HSTS = "max-age=63072000; includeSubDomains"
# Client request headers passed upstream (as nginx variables); every other header is dropped.
FORWARDED = (
    ("Accept", "$http_accept"),
    ("Accept-Language", "$http_accept_language"),
    ("Content-Type", "$content_type"),
    ("Idempotency-Key", "$http_idempotency_key"),
    ("If-Match", "$http_if_match"),
    ("If-None-Match", "$http_if_none_match"),
    ("User-Agent", "$http_user_agent"),
    ("X-Forwarded-For", "$remote_addr"),
    ("X-Forwarded-Proto", "$scheme"),
    ("X-Request-Id", "$request_id"),
)
# Mozilla "intermediate": AEAD suites only (TLS 1.3 suites are not configured by ssl_ciphers).
CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
))
# Encoded slashes, backslashes and dots: nginx decodes them before mapping a prefix location onto the
# backend path, so `..%2F` could climb out of the route's handler path; refused before routing.
ENCODED_TRAVERSAL = "(?i)%2f|%5c|%2e"
ERRORS = {401: "missing API key", 403: "invalid API key", 429: "too many requests"}
UNSAFE = re.compile(r"[$\\\x00-\x1f\x7f]")  # crossplane's quoting would also drop backslashes

Directive = dict[str, Any]


@dataclass(frozen=True)
class NginxOptions:
    """Where nginx listens and its TLS files (paths relative to the prefix, or absolute)."""

    listen: str = "8443"
    plain_http: bool = False  # a TLS terminator in front: no TLS listener, no HSTS here
    certificate: str = "tls/edge.crt"
    certificate_key: str = "tls/edge.key"
    upstream_ca: str = "/etc/ssl/certs/ca-certificates.crt"  # CA file upstream certificates must chain to


def literal(value: str) -> str:
    """A plan value as a literal nginx argument: no variable expansion, no control characters."""
    if UNSAFE.search(value):
        raise ValueError(f"{value!r} cannot go into nginx.conf: it holds $, a backslash or a control character")
    return value


def d(directive: str, *args: str, block: list[Directive] | None = None) -> Directive:
    stmt: Directive = {"directive": directive, "args": list(args)}
    if block is not None:
        stmt["block"] = block
    return stmt


def comment(text: str, line: int) -> Directive:
    """A comment on its own line (crossplane joins a comment to the previous directive when their lines match)."""
    return {"directive": "#", "args": [], "comment": " " + text, "line": line}


def header_variable(header: str) -> str:
    return "$http_" + header.lower().replace("-", "_")


def _body(status: int, message: str) -> str:
    return literal(json.dumps({"message": message, "status": status}, sort_keys=True))


def _headers(route: EdgeRoute, options: NginxOptions) -> list[Directive]:
    """Response headers of a location (add_header in a location replaces the server's, so HSTS repeats)."""
    headers = [] if options.plain_http else [d("add_header", "Strict-Transport-Security", HSTS, "always")]
    return headers + [d("add_header", literal(name), literal(value), "always") for name, value in route.headers]


def _limits(plan: EdgePlan, per_key: bool) -> list[Directive]:
    limits = [d("limit_req", f"zone={CLIENT_ZONE}", f"burst={plan.client_rate_limit.burst}", "nodelay")]
    if per_key:
        limits.append(d("limit_req", f"zone={KEY_ZONE}", f"burst={plan.rate_limit.burst}", "nodelay"))
    return limits


def _error_location(name: str, route: EdgeRoute, options: NginxOptions, status: int, message: str) -> Directive:
    return d("location", name, block=[*_headers(route, options), d("return", str(status), _body(status, message))])


def _routed(plan: EdgePlan, route: EdgeRoute, options: NginxOptions, exact: bool) -> list[Directive]:
    block = [
        *_headers(route, options),
        *_limits(plan, per_key=True),
        d("auth_request", KEY_CHECK),
        *[d("error_page", str(status), f"@{route.slug}-{status}") for status in ERRORS],
        *[d("proxy_set_header", name, value) for name, value in FORWARDED],
        d("proxy_set_header", ACCOUNT_HEADER, "$cellfleet_account"),
        d("proxy_set_header", ROUTE_HEADER, literal(route.path)),
        d("proxy_pass", literal(route.backend_url if exact else route.backend_url + "/")),
    ]
    return [d("location", *(("=", literal(route.path)) if exact else (literal(route.path + "/"),)), block=block)]


def _route_locations(plan: EdgePlan, route: EdgeRoute, options: NginxOptions) -> list[Directive]:
    if route.action is Action.GONE:
        gone = [*_headers(route, options), d("return", "410", _body(410, "this API version is gone"))]
        return [d("location", "=", literal(route.path), block=gone), d("location", literal(route.path + "/"), block=gone)]
    named = [_error_location(f"@{route.slug}-{s}", route, options, s, m) for s, m in ERRORS.items()]
    return [*_routed(plan, route, options, exact=True), *_routed(plan, route, options, exact=False), *named]


def _listener(options: NginxOptions) -> list[Directive]:
    if options.plain_http:
        return [d("listen", literal(options.listen))]
    return [
        d("listen", literal(options.listen), "ssl"),
        d("ssl_certificate", literal(options.certificate)),
        d("ssl_certificate_key", literal(options.certificate_key)),
        d("ssl_protocols", "TLSv1.2", "TLSv1.3"),
        d("ssl_ciphers", CIPHERS),
        d("ssl_prefer_server_ciphers", "off"),
        d("ssl_session_tickets", "off"),
        d("add_header", "Strict-Transport-Security", HSTS, "always"),
    ]


def nginx_config(plan: EdgePlan, options: NginxOptions | None = None) -> list[Directive]:
    """The edge's nginx.conf as crossplane directives (pure)."""
    options = options or NginxOptions()
    key = header_variable(plan.api_key_header)
    key_check = [
        d("internal"),
        d("if", f"{key}", "=", "", block=[d("return", "401")]),
        d("if", "$cellfleet_account", "=", "", block=[d("return", "403")]),
        d("return", "204"),
    ]
    locations: list[Directive] = [d("location", "=", KEY_CHECK, block=key_check)]
    for line, route in enumerate(plan.exposed, start=2):
        locations.append(comment(f"{route.path}: {route.service.value} {route.version}, {route.phase.value}", line))
        locations += _route_locations(plan, route, options)
    locations.append(d("location", "/", block=[d("return", "404", _body(404, "no route for this path"))]))
    guard = d("if", "$request_uri", "~", ENCODED_TRAVERSAL, block=[d("return", "400", _body(400, "invalid path"))])
    server = d("server", block=[*_listener(options), *_limits(plan, per_key=False), guard, *locations])
    http = [
        d("access_log", "logs/access.log"),
        *[d(f"{kind}_temp_path", f"temp/{kind}") for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")],
        d("server_tokens", "off"),
        d("default_type", "application/json"),
        d("proxy_http_version", "1.1"),
        d("proxy_pass_request_headers", "off"),
        d("proxy_ssl_server_name", "on"),
        d("proxy_ssl_verify", "on"),
        d("proxy_ssl_verify_depth", "3"),
        d("proxy_ssl_trusted_certificate", literal(options.upstream_ca)),
        d("proxy_ssl_protocols", "TLSv1.2", "TLSv1.3"),
        d("map", key, "$cellfleet_account", block=[d("default", ""), d("include", KEYS_GLOB)]),
        d("map", "$cellfleet_account", "$cellfleet_valid_key", block=[d("", ""), d("default", key)]),
        d("limit_req_zone", "$binary_remote_addr", f"zone={CLIENT_ZONE}:10m", f"rate={plan.client_rate_limit.rate}r/s"),
        d("limit_req_zone", "$cellfleet_valid_key", f"zone={KEY_ZONE}:10m", f"rate={plan.rate_limit.rate}r/s"),
        d("limit_req_status", "429"),
        server,
    ]
    return [
        comment(f"cellfleet landing zone edge, generated for {plan.at.isoformat()}; do not edit by hand.", 1),
        d("worker_processes", "1"),
        d("worker_rlimit_nofile", "2048"),
        d("pid", "logs/nginx.pid"),
        d("error_log", "logs/error.log", "warn"),
        d("events", block=[d("worker_connections", "1024")]),
        d("http", block=http),
    ]


def render_nginx(plan: EdgePlan, options: NginxOptions | None = None) -> str:
    """The edge's nginx.conf for the compiled plan (pure)."""
    text: str = crossplane.build(nginx_config(plan, options))
    return text + "\n"
