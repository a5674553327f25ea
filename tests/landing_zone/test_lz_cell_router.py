"""The cell router Lambda, called as Lambda calls it with API Gateway REST proxy events.

The table is moto's DynamoDB; the cells are real HTTPS servers on loopback with a test CA.
Each attack from the security review has a test here showing it fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import runtime.cell_router as router
from fleet.inputs import load_routes
from landing_zone.lifecycle import Phase, compile_edge
from landing_zone.render_aws import router_routes
from runtime.cell_router import CellDirectory, ClientPolicy, cell_target, route_request, safe_path
from tests.landing_zone.lz_support import DAY_SUNSET, REPO
from tests.landing_zone.tls_support import Pki, TlsCell, make_pki, tls_cell
from tests.support.servers import backend

TABLE = "cellfleet-customer-cells"
KEY_ACME = "k-acme-1"  # API Gateway key ids (not the secret values)
KEY_GLOBEX = "k-globex-1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def cell(pki: Pki) -> Iterator[TlsCell]:
    with tls_cell(pki) as server:
        yield server


@pytest.fixture(scope="module")
def other_cell(pki: Pki) -> Iterator[TlsCell]:
    with tls_cell(pki) as server:
        yield server


@pytest.fixture(scope="module")
def dynamodb_table() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "api_key_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "api_key_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


@pytest.fixture
def table(dynamodb_table: Any, cell: TlsCell, other_cell: TlsCell) -> Any:
    """The router table with two customers' keys (and nothing a previous test added)."""
    cell.received.clear()
    other_cell.received.clear()
    for item in dynamodb_table.scan()["Items"]:
        dynamodb_table.delete_item(Key={"api_key_id": item["api_key_id"]})
    dynamodb_table.put_item(Item={"api_key_id": KEY_ACME, "account_id": "AC1", "cell_id": "smb-us-1", "endpoint": cell.url})
    dynamodb_table.put_item(
        Item={"api_key_id": KEY_GLOBEX, "account_id": "AC2", "cell_id": "smb-eu-1", "endpoint": other_cell.url + "/"}
    )
    return dynamodb_table


@pytest.fixture
def policy(pki: Pki) -> ClientPolicy:
    return ClientPolicy(host_suffix="localhost", deadline=2.0, max_response=10_000, ssl_context=pki.client_context())


@pytest.fixture(scope="module")
def edge_routes() -> dict[str, Any]:
    return router_routes(compile_edge(load_routes(REPO), DAY_SUNSET))


def rest_event(
    resource: str, proxy: str | None, key_id: str | None = KEY_ACME, body: str | None = "hello", **headers: str
) -> dict[str, Any]:
    """An API Gateway REST API Lambda proxy (payload 1.0) event, as the edge sends it."""
    base = resource.removesuffix("/{proxy+}")
    identity: dict[str, Any] = {"sourceIp": "203.0.113.7", "apiKey": "secret-value", "apiKeyId": key_id}
    return {
        "resource": resource,
        "path": base + (f"/{proxy}" if proxy else ""),
        "httpMethod": "PUT",
        "headers": {"Content-Type": "text/plain", **{k.replace("_", "-"): v for k, v in headers.items()}},
        "multiValueQueryStringParameters": {"page": ["2"], "tag": ["a", "b"]},
        "queryStringParameters": {"page": "2", "tag": "b"},
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "PUT",
            "stage": "live",
            "requestId": "req-1",
            "identity": identity,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def call(event: dict[str, Any], table: Any, policy: ClientPolicy, routes: dict[str, Any]) -> dict[str, Any]:
    return route_request(event, CellDirectory(table), policy, routes)


# --- tenant isolation ----------------------------------------------------------------------------


FORGED = {
    "X_Account_Id": "AC2",
    "X_Cell_Id": "smb-eu-1",
    "X_Edge_Route": "/v9/Admin",
    "X_Edge_Set_Sunset": "forged",
    "Forwarded": "for=10.0.0.1;host=admin.internal",
    "X_Forwarded_For": "10.0.0.1",
    "X_Forwarded_Host": "admin.internal",
    "X_Request_Id": "forged-id",
}


def test_forged_account_header_reaches_only_the_keys_own_customer(
    table: Any, cell: TlsCell, other_cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any]
) -> None:
    reply = call(rest_event("/v2/Messages/{proxy+}", "SM1", **FORGED), table, policy, edge_routes)
    assert reply["statusCode"] == 200
    assert reply["headers"]["x-cell-id"] == "smb-us-1"
    assert other_cell.received == []  # AC2's cell never sees AC1's request
    [received] = cell.received
    assert received.headers["x-account-id"] == "AC1"
    assert received.headers["x-cell-id"] == "smb-us-1"
    assert received.headers["x-edge-route"] == "/v2/Messages"
    assert received.headers["x-forwarded-for"] == "203.0.113.7"  # API Gateway's view of the client
    assert received.headers["x-request-id"] == "req-1"
    assert "forwarded" not in received.headers
    assert "x-forwarded-host" not in received.headers
    assert not any(k.startswith("x-edge-set-") for k in received.headers)


def test_each_key_reaches_its_own_customers_cell(
    table: Any, cell: TlsCell, other_cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any]
) -> None:
    reply = call(rest_event("/v2/Messages", None, key_id=KEY_GLOBEX, X_Account_Id="AC1"), table, policy, edge_routes)
    assert reply["statusCode"] == 200
    assert [r.headers["x-account-id"] for r in other_cell.received] == ["AC2"]
    assert cell.received == []


@pytest.mark.parametrize("key_id", [None, "", "k-unknown"])
def test_without_an_assigned_key_nothing_is_forwarded(
    table: Any, cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any], key_id: str | None
) -> None:
    reply = call(rest_event("/v2/Messages", None, key_id=key_id, X_Account_Id="AC1"), table, policy, edge_routes)
    assert reply["statusCode"] == 403
    assert cell.received == []


def test_credentials_and_hop_by_hop_headers_never_reach_the_cell(
    table: Any, cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any]
) -> None:
    headers = {
        "X_Api_Key": "secret-value",
        "Authorization": "Bearer t",
        "Cookie": "s=1",
        "Connection": "x-api-key",
        "Te": "trailers",
        "Upgrade": "h2c",
        "Idempotency_Key": "idem-1",
        "Accept": "application/json",
    }
    assert call(rest_event("/v2/Messages", None, **headers), table, policy, edge_routes)["statusCode"] == 200
    [received] = cell.received
    assert not {"x-api-key", "authorization", "cookie", "te", "upgrade"} & set(received.headers)
    assert (received.headers["idempotency-key"], received.headers["accept"]) == ("idem-1", "application/json")
    assert received.headers.get("connection") != "x-api-key"


def test_cell_response_headers_are_an_allow_list(
    table: Any, policy: ClientPolicy, edge_routes: dict[str, Any]
) -> None:
    reply = call(rest_event("/v2/Messages", None), table, policy, edge_routes)
    assert reply["headers"]["content-type"] == "application/json"
    assert "set-cookie" not in reply["headers"]
    assert "server" not in reply["headers"]


# --- the router as a client ------------------------------------------------------------------


def test_redirect_to_another_host_is_not_followed(
    table: Any, cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any]
) -> None:
    with backend() as attacker:
        cell.redirect_to = attacker.url + "/steal"
        table.put_item(Item={"api_key_id": "k-r", "account_id": "AC9", "cell_id": "smb-us-9", "endpoint": cell.url})
        routes = {"/v9/Redirect": {"backend": "/redirect", "headers": []}}
        event = rest_event("/v9/Redirect", None, key_id="k-r", Authorization="Bearer t", X_Api_Key="secret-value")
        reply = call(event, table, policy, routes)
        assert reply["statusCode"] == 302
        assert "location" not in reply["headers"]  # an absolute Location is not passed on
        assert attacker.received == []
        assert len(cell.received) == 1


@pytest.mark.parametrize(
    "endpoint",
    [
        "file:///etc/passwd",
        "http://localhost:1",
        "https://evil.example.com",
        "https://localhost.evil.example.com",
        "https://user:pw@localhost",
        "https://localhost/internal",
        "https://localhost:99999",
        "gopher://localhost:70",
    ],
)
def test_endpoints_outside_https_on_the_cell_suffix_are_refused(
    table: Any, policy: ClientPolicy, edge_routes: dict[str, Any], endpoint: str
) -> None:
    table.put_item(Item={"api_key_id": "k-bad", "account_id": "AC7", "cell_id": "smb-us-7", "endpoint": endpoint})
    reply = call(rest_event("/v2/Messages", None, key_id="k-bad"), table, policy, edge_routes)
    assert reply["statusCode"] == 502
    assert json.loads(reply["body"]) == {"message": "the cell is unavailable"}  # no file content, no internals
    assert cell_target(endpoint, "localhost") is None


def test_cell_target_accepts_hosts_under_the_suffix() -> None:
    assert cell_target("https://smb-us-1.cells.example:8443/", "cells.example") == router.Target("smb-us-1.cells.example", 8443)
    assert cell_target("https://xcells.example", "cells.example") is None


@pytest.mark.parametrize("proxy", ["..", "a/../../admin", "./x", "%2e%2e/admin", "a%2Fb", "a%5cb", "a\\b", "a//b"])
def test_dot_segments_and_encoded_slashes_are_refused(
    table: Any, cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any], proxy: str
) -> None:
    reply = call(rest_event("/v2/Messages/{proxy+}", proxy), table, policy, edge_routes)
    assert reply["statusCode"] == 400
    assert cell.received == []


def test_safe_path_encodes_what_it_keeps() -> None:
    assert safe_path("/sms/v2/messages/SM 1?x") == "/sms/v2/messages/SM%201%3Fx"


def test_response_over_the_cap_is_502(table: Any, cell: TlsCell, policy: ClientPolicy) -> None:
    cell.big_size = policy.max_response + 1
    routes = {"/v9/Big": {"backend": "/big", "headers": []}}
    reply = call(rest_event("/v9/Big", None), table, policy, routes)
    assert reply["statusCode"] == 502
    assert json.loads(reply["body"]) == {"message": "the cell's response is too large"}
    cell.big_size = policy.max_response
    assert call(rest_event("/v9/Big", None), table, policy, routes)["statusCode"] == 200


def test_a_trickling_cell_is_cut_at_the_total_deadline(table: Any, policy: ClientPolicy) -> None:
    routes = {"/v9/Slow": {"backend": "/trickle", "headers": []}}
    started = time.monotonic()
    reply = call(rest_event("/v9/Slow", None), table, policy, routes)
    assert reply["statusCode"] == 504
    assert time.monotonic() - started < policy.deadline + 1.0  # each byte came in time; the whole did not


def test_unreachable_cell_is_a_502_without_internals(table: Any, policy: ClientPolicy, edge_routes: dict[str, Any]) -> None:
    table.put_item(Item={"api_key_id": "k-down", "account_id": "AC3", "cell_id": "smb-eu-3", "endpoint": "https://localhost:9"})
    reply = call(rest_event("/v2/Messages", None, key_id="k-down"), table, policy, edge_routes)
    assert reply["statusCode"] == 502
    assert json.loads(reply["body"]) == {"message": "the cell is unavailable"}
    assert "9" not in reply["body"] and "refused" not in reply["body"].lower()


def test_untrusted_certificate_is_a_502(table: Any, edge_routes: dict[str, Any], tmp_path: Path) -> None:
    stranger = make_pki(tmp_path / "other-ca")  # the cell's certificate does not chain to this CA
    policy = ClientPolicy(host_suffix="localhost", deadline=2.0, ssl_context=stranger.client_context())
    assert call(rest_event("/v2/Messages", None), table, policy, edge_routes)["statusCode"] == 502


def test_lookup_cache_is_a_bounded_lru_with_a_ttl(table: Any) -> None:
    now = [0.0]
    directory = CellDirectory(table, ttl=60, size=2, clock=lambda: now[0])
    for key in (KEY_ACME, KEY_GLOBEX, KEY_ACME, "k-miss-1", "k-miss-2"):
        directory.find(key)
    assert len(directory) == 2
    assert directory.lookups == 4  # the second KEY_ACME came from the cache
    directory.find("k-miss-2")
    assert directory.lookups == 4
    table.put_item(Item={"api_key_id": "k-miss-2", "account_id": "AC5", "cell_id": "smb-us-5", "endpoint": "https://x"})
    now[0] = 61.0
    assert directory.find("k-miss-2") == router.Placement("AC5", "smb-us-5", "https://x")


# --- routing and lifecycle headers (unchanged behaviour) ------------------------------------------


def test_deprecated_route_gets_its_lifecycle_headers(
    table: Any, cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any]
) -> None:
    deprecated = next(r for r in compile_edge(load_routes(REPO), DAY_SUNSET).exposed if r.path == "/v1/Calls")
    assert deprecated.phase is Phase.DEPRECATED
    reply = call(rest_event("/v1/Calls/{proxy+}", "CA1", X_Edge_Set_Sunset="forged"), table, policy, edge_routes)
    assert reply["statusCode"] == 200
    assert {k: reply["headers"][k.lower()] for k, _ in deprecated.headers} == dict(deprecated.headers)
    assert reply["isBase64Encoded"] is False
    assert json.loads(reply["body"]) == {"path": "/voice/v1/calls/CA1?page=2&tag=a&tag=b"}
    [received] = cell.received
    assert (received.method, received.body) == ("PUT", b"hello")


def test_resource_outside_the_table_is_404(table: Any, cell: TlsCell, policy: ClientPolicy, edge_routes: dict[str, Any]) -> None:
    reply = call(rest_event("/v0/Messages/{proxy+}", "SM1"), table, policy, edge_routes)
    assert reply["statusCode"] == 404
    assert cell.received == []


def test_function_url_events_are_not_served(table: Any, cell: TlsCell, policy: ClientPolicy) -> None:
    event = {"rawPath": "/sms/v1/messages", "headers": {"x-account-id": "AC1"}, "requestContext": {"http": {"method": "GET"}}}
    assert call(event, table, policy, {})["statusCode"] == 400
    assert cell.received == []


def test_lambda_entry_point_reads_its_environment(
    table: Any, cell: TlsCell, pki: Pki, edge_routes: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "TABLE_NAME": TABLE,
        "AWS_DEFAULT_REGION": "us-east-1",
        "EDGE_ROUTES": json.dumps(edge_routes),
        "CELL_HOST_SUFFIX": "localhost",
        "CA_BUNDLE": str(pki.ca_file),
    }.items():
        monkeypatch.setenv(name, value)
    for cached in ("_directory", "_routes", "_policy"):
        monkeypatch.setattr(router, cached, None)
    first = router.handler(rest_event("/v1/Calls", None), None)
    second = router.handler(rest_event("/v1/Calls", None), None)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert first["headers"]["deprecation"] == "@1775001600"
    assert router._directory is not None
    assert router._directory.lookups == 1
    assert [r.path.split("?")[0] for r in cell.received] == ["/voice/v1/calls", "/voice/v1/calls"]
