"""The four targets: golden files, their own validators, and identical routing decisions."""

from __future__ import annotations

import json
import re
import tempfile
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import betterproto2
import boto3
import crossplane
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from openapi_spec_validator import validate
from ruamel.yaml import YAML

from landing_zone.gateway import render_all
from landing_zone.lifecycle import EdgePlan, compile_edge, decide
from landing_zone.render_aws import PLACEHOLDER_FUNCTION_ARN, lambda_invoke_uri, openapi_document, router_routes
from landing_zone.render_envoy import envoy_document
from landing_zone.render_kong import kong_document
from landing_zone.render_nginx import render_nginx
from model.routes import ACCOUNT_HEADER, CELL_HEADER, FORWARDED_HEADERS, ROUTE_HEADER, RoutesFile
from runtime.cell_router import resolve
from tests.landing_zone.lz_support import DAY_DEPRECATED, DAY_SUNSET, REPO
from tests.support.golden import assert_golden

with warnings.catch_warnings():  # the generated Envoy models trip pydantic deprecation warnings on import
    warnings.simplefilter("ignore")
    import envoy_data_plane.envoy.extensions.filters.http.local_ratelimit.v3  # noqa: F401 - registers the Any type
    from envoy_data_plane.envoy.config.route.v3 import RouteConfiguration

KONG_SCHEMA = REPO / "tests" / "schemas" / "kong" / "kong_json_schema.json"
Decision = tuple[str, str | None]  # ("route", backend path) | ("gone", None) | ("none", None)


def test_golden_files(sample_routes: RoutesFile) -> None:
    for name, text in sorted(render_all(compile_edge(sample_routes, DAY_DEPRECATED)).items()):
        assert_golden(f"landing_zone/{name}", text)


@pytest.mark.parametrize("at", [DAY_DEPRECATED, DAY_SUNSET])
def test_openapi_document_passes_the_validator(sample_routes: RoutesFile, at: date) -> None:
    validate(openapi_document(compile_edge(sample_routes, at)))


def test_openapi_imports_into_api_gateway(sample_routes: RoutesFile) -> None:
    plan = compile_edge(sample_routes, DAY_SUNSET)
    document = openapi_document(plan)
    # moto's importer needs uri/httpMethod on every integration; API Gateway does not for `mock`.
    for item in document["paths"].values():
        for operation in item.values():
            integration = operation["x-amazon-apigateway-integration"]
            if integration["type"] == "mock":
                integration.setdefault("uri", "")
                integration.setdefault("httpMethod", "ANY")
    with mock_aws():
        client = boto3.client("apigateway", region_name="us-east-1")
        api = client.import_rest_api(body=json.dumps(document), failOnWarnings=True)
        resources = {r["path"]: r for r in client.get_resources(restApiId=api["id"], limit=500)["items"]}
        exposed = [r.path for r in plan.exposed]
        expected = {p for path in exposed for p in (path, f"{path}/{{proxy+}}")}
        with_methods = {p for p, r in resources.items() if r.get("resourceMethods")}
        assert with_methods == expected
        assert "/v2/Rooms" not in resources  # disabled: not routed
        for path in expected:
            assert sorted(resources[path]["resourceMethods"]) == ["DELETE", "GET", "PATCH", "POST", "PUT"]
        calls = client.get_integration(restApiId=api["id"], resourceId=resources["/v1/Calls/{proxy+}"]["id"], httpMethod="POST")
        assert (calls["type"], calls["httpMethod"]) == ("aws_proxy", "POST")
        assert calls["uri"] == (
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"{PLACEHOLDER_FUNCTION_ARN}/invocations"
        )
        assert not calls.get("requestParameters")  # ignored by Lambda proxy integrations: the router has the table
        gone = client.get_integration(restApiId=api["id"], resourceId=resources["/v0/Messages"]["id"], httpMethod="GET")
        assert gone["type"] == "mock"
        assert set(gone["integrationResponses"]) == {"410"}


@pytest.mark.parametrize("at", [DAY_DEPRECATED, DAY_SUNSET])
def test_kong_file_validates_against_the_deck_schema(sample_routes: RoutesFile, at: date) -> None:
    """Schema check against decK's JSON schema, not a running gateway:
    no real Kong/Envoy is installable here (none on Debian, PyPI or npm)."""
    schema = json.loads(KONG_SCHEMA.read_text(encoding="utf-8"))
    text = render_all(compile_edge(sample_routes, at))["kong.yaml"]
    document = YAML(typ="safe", pure=True).load(text)
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator)
    assert document == kong_document(compile_edge(sample_routes, at))


@pytest.mark.parametrize("at", [DAY_DEPRECATED, DAY_SUNSET])
def test_envoy_config_loads_into_typed_envoy_models(sample_routes: RoutesFile, at: date) -> None:
    """Structure check with Envoy's generated API models, not a running proxy:
    no real Kong/Envoy is installable here (none on Debian, PyPI or npm)."""
    document = envoy_document(compile_edge(sample_routes, at))
    typed = RouteConfiguration.from_dict(document)  # unknown fields or wrong types raise
    assert typed.to_dict(casing=betterproto2.Casing.SNAKE) == document  # nothing was dropped
    first = typed.virtual_hosts[0].routes[0]
    assert first.match is not None
    assert first.match.path_separated_prefix == "/v0/Messages"


# --- each target's routing rules, interpreted as that gateway matches paths --------------------


Location = tuple[bool, str, list[dict[str, Any]]]  # (exact, path, block)


def nginx_locations(conf: str) -> list[Location]:
    """The server's locations, parsed back with crossplane (NGINX's own parser)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nginx.conf"
        path.write_text(conf, encoding="utf-8")
        payload = crossplane.parse(str(path), single=True)
    [http] = [s for s in payload["config"][0]["parsed"] if s["directive"] == "http"]
    [server] = [s for s in http["block"] if s["directive"] == "server"]
    out: list[Location] = []
    for stmt in server["block"]:
        if stmt["directive"] == "location" and not stmt["args"][-1].startswith("@"):
            out.append((stmt["args"][0] == "=", stmt["args"][-1], stmt["block"]))
    return out


def nginx_decision(locations: list[Location], path: str) -> Decision:
    """Exact `location = P` wins; otherwise the longest prefix location; then its return or proxy_pass."""
    exact = [loc for loc in locations if loc[0] and loc[1] == path]
    prefixes = sorted((loc for loc in locations if not loc[0] and path.startswith(loc[1])), key=lambda loc: len(loc[1]))
    _, location, block = (exact or prefixes[::-1])[0]
    directives = {stmt["directive"]: stmt["args"] for stmt in block}
    if "return" in directives:
        return ("gone", None) if directives["return"][0] == "410" else ("none", None)
    assert directives["auth_request"] == ["/_cellfleet/api-key"]  # routed paths need a key
    target = urlsplit(directives["proxy_pass"][0]).path
    return "route", target + path[len(location) :] if not exact else target


def envoy_decision(config: dict[str, Any], path: str) -> Decision:
    """First route whose match holds (path_separated_prefix: the path itself or the path then `/`)."""
    for route in config["virtual_hosts"][0]["routes"]:
        match = route["match"]
        if "path_separated_prefix" in match:
            prefix = match["path_separated_prefix"]
            if not (path == prefix or path.startswith(prefix + "/")):
                continue
        elif not path.startswith(match["prefix"]):
            continue
        if "route" in route:
            assert match["headers"] == [{"name": "x-api-key", "present_match": True}]  # routed paths need a key
            return "route", route["route"]["prefix_rewrite"] + path[len(prefix) :]
        status = route["direct_response"]["status"]
        return ("gone", None) if status == 410 else ("none", None)
    raise AssertionError("no catch-all route")


def kong_decision(config: dict[str, Any], path: str) -> Decision:
    """`~` paths are regexes anchored at the start, others prefixes; strip_path with path_handling v0."""
    for service in config["services"]:
        for route in service["routes"]:
            for pattern in route["paths"]:
                found = re.match(pattern[1:], path) if pattern.startswith("~") else path.startswith(pattern)
                if not found:
                    continue
                if any(p["name"] == "request-termination" for p in route.get("plugins", [])):
                    return "gone", None
                assert "key-auth" in {p["name"] for p in route["plugins"]}  # routed paths need a key
                matched = found.group(0) if isinstance(found, re.Match) else pattern
                rest = path[len(matched) :].lstrip("/")
                base = urlsplit(service["url"]).path
                return "route", base + ("/" + rest if rest else "")
    return "none", None


def aws_decision(document: dict[str, Any], path: str, routes: dict[str, Any]) -> Decision:
    """API Gateway: an exact resource wins over a greedy `{proxy+}` one; the cell router maps it to a handler."""
    chosen: tuple[dict[str, Any], str, str | None] | None = None
    for template, item in document["paths"].items():
        if template == path:
            chosen = (item, template, None)
            break
        base = template.removesuffix("/{proxy+}")
        if base != template and path.startswith(base + "/") and len(path) > len(base) + 1:
            chosen = (item, template, path[len(base) + 1 :])
    if chosen is None:
        return "none", None
    integration = chosen[0]["post"]["x-amazon-apigateway-integration"]
    if integration["type"] == "mock":
        assert integration["responses"]["default"]["statusCode"] == "410"
        return "gone", None
    assert chosen[0]["post"]["security"] == [{"api_key": []}]  # routed paths need a key
    assert integration["uri"] == lambda_invoke_uri(PLACEHOLDER_FUNCTION_ARN)
    resolved = resolve(routes, chosen[1], chosen[2])
    assert resolved is not None
    return "route", resolved[0]


def reference_decision(plan: EdgePlan, path: str) -> Decision:
    status, backend = decide(plan, path)
    return {200: ("route", backend), 410: ("gone", None), 404: ("none", None)}[status]


REQUESTS = [
    "/v1/Messages",
    "/v1/Messages/SM123",
    "/v1/Messages/SM123/Media/ME1",
    "/v1/MessagesX",
    "/v1/messages",
    "/v10/Messages",
    "/v1",
    "/",
    "/v2/Messages/SM9",
    "/v0/Messages",
    "/v0/Messages/SM1",
    "/v1/Calls",
    "/v1/Calls/CA1",
    "/v2/Calls/CA1",
    "/v1/Rooms/RM1",
    "/v2/Rooms",
    "/v2/Rooms/RM1",
    "/v2/WhatsApp/WA1",
    "/v2/Emails",
    "/v1/Emails/EM1",
    "/v3/Messages",
]


@pytest.mark.parametrize("at", [DAY_DEPRECATED, DAY_SUNSET])
def test_all_targets_make_identical_routing_decisions(sample_routes: RoutesFile, at: date) -> None:
    plan = compile_edge(sample_routes, at)
    targets: dict[str, Callable[[str], Decision]] = {
        "reference": lambda p: reference_decision(plan, p),
        "nginx": lambda p: nginx_decision(nginx_locations(render_nginx(plan)), p),
        "envoy": lambda p: envoy_decision(envoy_document(plan), p),
        "kong": lambda p: kong_decision(kong_document(plan), p),
        "aws": lambda p: aws_decision(openapi_document(plan), p, router_routes(plan)),
    }
    table = {path: {name: decide_for(path) for name, decide_for in targets.items()} for path in REQUESTS}
    disagreements = {path: row for path, row in table.items() if len(set(row.values())) != 1}
    assert not disagreements
    decisions = {path: row["reference"] for path, row in table.items()}
    assert decisions["/v10/Messages"] == ("none", None)
    assert decisions["/v1/MessagesX"] == ("none", None)
    assert decisions["/v2/Rooms/RM1"] == ("none", None)
    assert decisions["/v0/Messages/SM1"] == (("gone", None) if at == DAY_SUNSET else ("route", "/sms/v1/messages/SM1"))
    assert table["/v1/Messages/SM123/Media/ME1"]["nginx"] == ("route", "/sms/v1/messages/SM123/Media/ME1")


SEGMENTS = ["v0", "v1", "v2", "v10", "Messages", "MessagesX", "messages", "Calls", "Rooms", "WhatsApp", "Emails", "SM1", "x.y"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4))
def test_targets_agree_on_generated_paths(sample_routes: RoutesFile, segments: list[str]) -> None:
    plan = compile_edge(sample_routes, DAY_SUNSET)
    path = "/" + "/".join(segments)
    nginx, envoy, kong, aws = _documents(plan)
    expected = reference_decision(plan, path)
    assert nginx_decision(nginx, path) == expected
    assert envoy_decision(envoy, path) == expected
    assert kong_decision(kong, path) == expected
    assert aws_decision(aws, path, router_routes(plan)) == expected


_CACHE: dict[date, tuple[list[Location], dict[str, Any], dict[str, Any], dict[str, Any]]] = {}


def _documents(plan: EdgePlan) -> tuple[list[Location], dict[str, Any], dict[str, Any], dict[str, Any]]:
    if plan.at not in _CACHE:
        nginx = nginx_locations(render_nginx(plan))
        _CACHE[plan.at] = (nginx, envoy_document(plan), kong_document(plan), openapi_document(plan))
    return _CACHE[plan.at]


# --- identity headers and per-client limits on the targets with no server here (Kong, Envoy) ------
# No Kong or Envoy can run here: these check the documents their own schema/models accepted above.

IDENTITY = {ACCOUNT_HEADER, CELL_HEADER, ROUTE_HEADER, *FORWARDED_HEADERS}


def test_kong_drops_client_identity_and_throttles_keyless_requests_by_ip(sample_routes: RoutesFile) -> None:
    """Structure check of the Kong document (forged identity headers removed, then set from the consumer);
    no request is sent through Kong: no real Kong/Envoy is installable here (none on Debian, PyPI or npm).
    test_lz_nginx_edge sends forged headers through real nginx."""
    plan = compile_edge(sample_routes, DAY_SUNSET)
    document = kong_document(plan)
    [anonymous] = document["consumers"]
    plugins = {p["name"]: p["config"] for p in anonymous["plugins"]}
    assert plugins["rate-limiting"] == {"second": plan.client_rate_limit.rate, "policy": "local", "limit_by": "ip"}
    assert plugins["request-termination"]["status_code"] == 401
    routed = [r for s in document["services"] for r in s["routes"] if any(p["name"] == "key-auth" for p in r["plugins"])]
    assert len(routed) == sum(1 for r in plan.exposed if r.action.value == "route")
    for route in routed:
        by_name = {p["name"]: p["config"] for p in route["plugins"]}
        assert by_name["key-auth"]["anonymous"] == anonymous["username"]
        assert set(by_name["request-transformer"]["remove"]["headers"]) == IDENTITY
        assert 'x-account-id:$(headers["x-consumer-custom-id"])' in by_name["request-transformer"]["add"]["headers"]


def test_envoy_drops_client_identity_and_limits_every_client_address(sample_routes: RoutesFile) -> None:
    """Structure check of the Envoy route configuration (forged identity headers removed, then set from ext_authz);
    no request is sent through Envoy: no real Kong/Envoy is installable here (none on Debian, PyPI or npm).
    test_lz_nginx_edge sends forged headers through real nginx."""
    plan = compile_edge(sample_routes, DAY_SUNSET)
    [host] = envoy_document(plan)["virtual_hosts"]
    assert set(host["request_headers_to_remove"]) == IDENTITY - {ROUTE_HEADER}  # overwritten per route instead
    for route in (r for r in host["routes"] if "route" in r):
        [edge_route] = route["request_headers_to_add"]
        assert edge_route == {"header": {"key": ROUTE_HEADER, "value": route["match"]["path_separated_prefix"]},
                              "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
    added = {h["header"]["key"]: h["header"]["value"] for h in host["request_headers_to_add"]}
    assert added[ACCOUNT_HEADER].startswith("%DYNAMIC_METADATA(envoy.filters.http.ext_authz:")
    configs = [host["typed_per_filter_config"]] + [r["typed_per_filter_config"] for r in host["routes"] if "route" in r]
    for config in configs:
        limit = config["envoy.filters.http.local_ratelimit"]
        assert limit["rate_limits"] == [{"actions": [{"remote_address": {}}]}]
        [descriptor] = limit["descriptors"]
        assert descriptor["token_bucket"]["tokens_per_fill"] == plan.client_rate_limit.rate
