"""The cell router Lambda (REST API proxy and function URL events) against moto's DynamoDB and a stand-in cell."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

import runtime.cell_router as router
from fleet.inputs import load_routes
from landing_zone.lifecycle import Phase, compile_edge
from landing_zone.render_aws import router_routes
from runtime.cell_router import CellDirectory, route_request
from tests.landing_zone.lz_support import DAY_SUNSET, REPO
from tests.support.servers import Backend, backend

TABLE = "cellfleet-customer-cells"


@pytest.fixture
def cell() -> Iterator[Backend]:
    with backend() as server:
        yield server


@pytest.fixture
def table(cell: Backend) -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        created = dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        created.put_item(Item={"account_id": "AC1", "cell_id": "smb-us-1", "endpoint": cell.url + "/"})
        yield created


def event(path: str, account: str | None = "AC1", body: str | None = '{"to": "+1555"}', **headers: str) -> dict[str, Any]:
    all_headers = {"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
    if account is not None:
        all_headers["X-Account-Id"] = account
    return {
        "rawPath": path,
        "rawQueryString": "page=2",
        "headers": all_headers,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST"}},
    }


def test_forwards_to_the_accounts_cell_version_unaware(table: Any, cell: Backend) -> None:
    directory = CellDirectory(table)
    reply = route_request(event("/sms/v2/messages/SM1"), directory, "x-account-id", 5)
    assert reply["statusCode"] == 200
    assert json.loads(base64.b64decode(reply["body"])) == {"path": "/sms/v2/messages/SM1?page=2"}
    assert reply["headers"]["x-cell-id"] == "smb-us-1"
    [received] = cell.received
    assert (received.method, received.path, received.body) == ("POST", "/sms/v2/messages/SM1?page=2", b'{"to": "+1555"}')
    assert received.headers["x-cell-id"] == "smb-us-1"


def test_edge_lifecycle_headers_are_returned(table: Any, cell: Backend) -> None:
    request = event("/voice/v1/calls", x_edge_set_sunset="Fri, 01 Jan 2027 00:00:00 GMT", x_edge_set_deprecation="@1775001600")
    reply = route_request(request, CellDirectory(table), "x-account-id", 5)
    assert reply["headers"]["sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert reply["headers"]["deprecation"] == "@1775001600"
    assert not any(k.startswith("x-edge-set-") for k in cell.received[0].headers)


def test_lookups_are_cached_until_the_ttl(table: Any) -> None:
    now = [0.0]
    directory = CellDirectory(table, ttl=60, clock=lambda: now[0])
    for _ in range(3):
        assert route_request(event("/sms/v1/messages"), directory, "x-account-id", 5)["statusCode"] == 200
    assert directory.lookups == 1
    table.put_item(Item={"account_id": "AC1", "cell_id": "smb-us-2", "endpoint": "http://127.0.0.1:9"})
    assert directory.find("AC1").cell_id == "smb-us-1"  # type: ignore[union-attr]  # still cached
    now[0] = 61.0
    assert directory.find("AC1").cell_id == "smb-us-2"  # type: ignore[union-attr]
    assert directory.lookups == 2


def test_unknown_and_missing_accounts(table: Any, cell: Backend) -> None:
    directory = CellDirectory(table)
    unknown = route_request(event("/sms/v1/messages", account="AC404"), directory, "x-account-id", 5)
    missing = route_request(event("/sms/v1/messages", account=None), directory, "x-account-id", 5)
    assert (unknown["statusCode"], missing["statusCode"]) == (404, 400)
    assert json.loads(missing["body"]) == {"message": "missing x-account-id header"}
    assert cell.received == []


def test_unreachable_cell_is_502(table: Any) -> None:
    table.put_item(Item={"account_id": "AC2", "cell_id": "smb-eu-1", "endpoint": "http://127.0.0.1:9"})
    reply = route_request(event("/sms/v1/messages", account="AC2"), CellDirectory(table), "x-account-id", 2)
    assert reply["statusCode"] == 502
    assert "smb-eu-1" in json.loads(reply["body"])["message"]


def test_lambda_entry_point_reads_its_environment(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(router, "_directory", None)
    first = router.handler(event("/email/v1/emails", body=None), None)
    second = router.handler(event("/email/v1/emails", body=None), None)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert router._directory is not None
    assert router._directory.lookups == 1


def rest_event(resource: str, proxy: str | None, body: str | None = "hello", **headers: str) -> dict[str, Any]:
    """An API Gateway REST API Lambda proxy (payload 1.0) event, as the edge sends it."""
    base = resource.removesuffix("/{proxy+}")
    return {
        "resource": resource,
        "path": base + (f"/{proxy}" if proxy else ""),
        "httpMethod": "PUT",
        "headers": {"X-Account-Id": "AC1", "Content-Type": "text/plain", **{k.replace("_", "-"): v for k, v in headers.items()}},
        "multiValueQueryStringParameters": {"page": ["2"], "tag": ["a", "b"]},
        "queryStringParameters": {"page": "2", "tag": "b"},
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": "PUT", "stage": "live"},
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def edge_routes() -> dict[str, Any]:
    return router_routes(compile_edge(load_routes(REPO), DAY_SUNSET))


def test_rest_proxy_deprecated_route_gets_its_lifecycle_headers(table: Any, cell: Backend, edge_routes: dict[str, Any]) -> None:
    deprecated = next(r for r in compile_edge(load_routes(REPO), DAY_SUNSET).exposed if r.path == "/v1/Calls")
    assert deprecated.phase is Phase.DEPRECATED
    request = rest_event("/v1/Calls/{proxy+}", "CA1", x_edge_set_sunset="forged")
    reply = route_request(request, CellDirectory(table), "x-account-id", 5, edge_routes)
    assert reply["statusCode"] == 200
    assert {k: reply["headers"][k.lower()] for k, _ in deprecated.headers} == dict(deprecated.headers)
    assert reply["headers"]["sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"  # not "forged": clients cannot set them
    assert reply["isBase64Encoded"] is False
    assert json.loads(reply["body"]) == {"path": "/voice/v1/calls/CA1?page=2&tag=a&tag=b"}
    [received] = cell.received
    assert (received.method, received.body) == ("PUT", b"hello")
    assert not any(k.lower().startswith("x-edge-set-") for k in received.headers)


def test_rest_proxy_active_route_exact_resource_has_no_lifecycle_headers(
    table: Any, cell: Backend, edge_routes: dict[str, Any]
) -> None:
    reply = route_request(rest_event("/v2/Messages", None, body=None), CellDirectory(table), "x-account-id", 5, edge_routes)
    assert reply["statusCode"] == 200
    assert not {"deprecation", "sunset", "link"} & set(reply["headers"])
    assert cell.received[0].path == "/sms/v2/messages?page=2&tag=a&tag=b"


def test_rest_proxy_resource_outside_the_table_is_404(table: Any, cell: Backend, edge_routes: dict[str, Any]) -> None:
    reply = route_request(rest_event("/v0/Messages/{proxy+}", "SM1"), CellDirectory(table), "x-account-id", 5, edge_routes)
    assert reply["statusCode"] == 404
    assert cell.received == []


def test_lambda_entry_point_routes_rest_events_from_its_environment(
    table: Any, cell: Backend, edge_routes: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("EDGE_ROUTES", json.dumps(edge_routes))
    monkeypatch.setattr(router, "_directory", None)
    monkeypatch.setattr(router, "_routes", None)
    reply = router.handler(rest_event("/v1/Calls", None), None)
    assert reply["statusCode"] == 200
    assert reply["headers"]["deprecation"] == "@1775001600"
    assert cell.received[0].path.startswith("/voice/v1/calls?")
