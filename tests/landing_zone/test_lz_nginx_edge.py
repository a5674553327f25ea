"""A real nginx serving the rendered edge config in front of a local stand-in cell router."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

import pytest
from http_sfv.item import Item
from requests.utils import parse_header_links

from fleet.inputs import load_routes
from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute, Phase, compile_edge
from landing_zone.render_nginx import HSTS, NginxOptions
from model.routes import RateLimit, RoutesFile
from tests.landing_zone.lz_support import DAY_SUNSET, REPO
from tests.landing_zone.tls_support import Pki, TlsCell, make_pki, tls_cell
from tests.support.servers import Backend, Edge, backend, nginx_edge

pytestmark = pytest.mark.slow


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def call(edge: Edge, path: str, key: str | None, method: str = "POST", body: bytes = b"{}") -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    headers = {"content-type": "application/json", "x-account-id": "AC1"}
    if key is not None:
        headers["x-api-key"] = key
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


@dataclass(frozen=True)
class Setup:
    plan: EdgePlan
    edge: Edge
    backend: Backend


@pytest.fixture(scope="module")
def routes() -> RoutesFile:
    return load_routes(REPO)


@pytest.fixture(scope="module")
def running(routes: RoutesFile, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with backend() as cell_router:
        plan = compile_edge(routes, DAY_SUNSET, {"cell_router": cell_router.url})
        with nginx_edge(plan, tmp_path_factory.mktemp("nginx")) as edge:
            yield Setup(plan, edge, cell_router)


@pytest.fixture(scope="module")
def throttled(routes: RoutesFile, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with backend() as cell_router:
        plan = replace(compile_edge(routes, DAY_SUNSET, {"cell_router": cell_router.url}), rate_limit=RateLimit(rate=1, burst=2))
        with nginx_edge(plan, tmp_path_factory.mktemp("nginx-throttled")) as edge:
            yield Setup(plan, edge, cell_router)


def assert_lifecycle_headers(headers: http.client.HTTPMessage, route: EdgeRoute, deprecation: date, sunset: date) -> None:
    item = Item()
    item.parse(headers["Deprecation"].encode())
    assert isinstance(item.value, datetime)
    assert item.value.timestamp() == datetime(deprecation.year, deprecation.month, deprecation.day, tzinfo=UTC).timestamp()
    assert parsedate_to_datetime(headers["Sunset"]) == datetime(sunset.year, sunset.month, sunset.day, tzinfo=UTC)
    rels = {link["rel"] for link in parse_header_links(headers["Link"])}
    assert rels == {"deprecation", "sunset"}


def dates(routes: RoutesFile, path: str) -> tuple[date, date]:
    route = routes.by_path()[path]
    assert route.deprecation_date is not None
    assert route.sunset_date is not None
    return route.deprecation_date, route.sunset_date


ALL_PATHS = [r.path for r in load_routes(REPO).config.routes]


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize("suffix", ["", "/ID123/Media?page=2"])
def test_every_route_of_the_sample_config(running: Setup, routes: RoutesFile, path: str, suffix: str) -> None:
    route = {r.path: r for r in running.plan.routes}[path]
    before = len(running.backend.received)
    reply = call(running.edge, path + suffix, running.edge.keys[0])
    hits = running.backend.received[before:]
    if route.action is Action.ROUTE:
        assert reply.status == 200
        assert [h.path for h in hits] == [route.backend_path + suffix]
        assert hits[0].method == "POST"
        assert hits[0].headers["x-edge-route"] == path
        assert json.loads(reply.body) == {"path": route.backend_path + suffix}
    elif route.action is Action.GONE:
        assert reply.status == 410
        assert hits == []
        assert json.loads(reply.body) == {"message": "this API version is gone", "status": 410}
    else:
        assert reply.status == 404
        assert hits == []
    if route.phase in {Phase.DEPRECATED, Phase.SUNSET}:
        assert_lifecycle_headers(reply.headers, route, *dates(routes, path))
    else:
        assert reply.headers["Deprecation"] is None
        assert reply.headers["Sunset"] is None


def test_the_sample_covers_every_state(running: Setup) -> None:
    phases = {r.path: r.phase for r in running.plan.routes}
    assert phases["/v0/Messages"] is Phase.SUNSET
    assert phases["/v1/Calls"] is Phase.DEPRECATED
    assert phases["/v2/Rooms"] is Phase.PENDING
    assert phases["/v1/Messages"] is Phase.ACTIVE


@pytest.mark.parametrize("path", ["/v10/Messages", "/v10/Messages/SM1", "/v1/MessagesX", "/v1", "/", "/v1/messages"])
def test_paths_outside_the_routes_are_not_served(running: Setup, path: str) -> None:
    before = len(running.backend.received)
    reply = call(running.edge, path, running.edge.keys[0])
    assert reply.status == 404
    assert running.backend.received[before:] == []


def test_request_without_an_api_key_is_refused_with_lifecycle_headers(running: Setup, routes: RoutesFile) -> None:
    before = len(running.backend.received)
    missing = call(running.edge, "/v1/Calls/CA1", None)
    wrong = call(running.edge, "/v1/Calls/CA1", "not-a-key")
    assert (missing.status, wrong.status) == (401, 403)
    assert json.loads(missing.body) == {"message": "missing API key", "status": 401}
    assert json.loads(wrong.body) == {"message": "invalid API key", "status": 403}
    assert running.backend.received[before:] == []
    route = {r.path: r for r in running.plan.routes}["/v1/Calls"]
    assert_lifecycle_headers(missing.headers, route, *dates(routes, "/v1/Calls"))
    assert_lifecycle_headers(wrong.headers, route, *dates(routes, "/v1/Calls"))


def test_any_issued_key_works(running: Setup) -> None:
    assert [call(running.edge, "/v2/Messages", key).status for key in running.edge.keys] == [200, 200]


def test_burst_past_the_rate_limit_gets_429_with_lifecycle_headers(throttled: Setup, routes: RoutesFile) -> None:
    key = throttled.edge.keys[1]
    replies = [call(throttled.edge, "/v1/Calls/CA1", key) for _ in range(10)]
    statuses = [r.status for r in replies]
    assert statuses[0] == 200
    assert 429 in statuses
    route = {r.path: r for r in throttled.plan.routes}["/v1/Calls"]
    for reply in replies:
        assert_lifecycle_headers(reply.headers, route, *dates(routes, "/v1/Calls"))
    other = call(throttled.edge, "/v1/Messages", throttled.edge.keys[0])
    assert other.status == 200  # the limit is per API key


# --- security review: identity, header sanitisation, throttling of wrong keys, TLS ---------------

FORGED = {
    "x-account-id": "AC2",
    "x-cell-id": "enterprise-us-hipaa",
    "x-edge-route": "/v9/Admin",
    "x-edge-set-sunset": "forged",
    "forwarded": "for=10.0.0.1;host=admin.internal",
    "x-forwarded-for": "10.0.0.1",
    "x-forwarded-host": "admin.internal",
    "x-real-ip": "10.0.0.1",
    "cookie": "session=1",
    "authorization": "Bearer t",
}


def raw_call(port: int, path: str, headers: dict[str, str], context: ssl.SSLContext | None = None) -> Reply:
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        conn = http.client.HTTPSConnection("localhost", port, timeout=10, context=context)
    try:
        conn.request("POST", path, body=b"{}", headers={"content-type": "application/json", **headers})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def test_account_comes_from_the_key_and_client_identity_headers_are_dropped(running: Setup) -> None:
    key = running.edge.keys[0]
    before = len(running.backend.received)
    reply = raw_call(running.edge.port, "/v2/Messages/SM1", {"x-api-key": key, "idempotency-key": "i-1", **FORGED})
    assert reply.status == 200
    [received] = running.backend.received[before:]
    assert received.headers["x-account-id"] == running.edge.account(key) == "AC1"
    assert received.headers["x-edge-route"] == "/v2/Messages"
    assert received.headers["x-forwarded-for"] == "127.0.0.1"
    assert received.headers["idempotency-key"] == "i-1"
    assert received.body == b"{}"
    dropped = {"x-cell-id", "x-edge-set-sunset", "forwarded", "x-forwarded-host", "x-real-ip", "cookie", "authorization"}
    dropped.add("x-api-key")
    assert not dropped & set(received.headers)


def test_second_key_maps_to_its_own_account(running: Setup) -> None:
    key = running.edge.keys[1]
    before = len(running.backend.received)
    assert raw_call(running.edge.port, "/v2/Messages", {"x-api-key": key, "x-account-id": "AC1"}).status == 200
    assert running.backend.received[before:][0].headers["x-account-id"] == "AC2"


TRAVERSALS = ["/v1/Messages/..%2F..%2Fadmin", "/v1/Messages/a%2fb", "/v1/Messages/%2e%2e/x", "/v1/Messages/a%5Cb"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_encoded_traversal_is_refused_before_routing(running: Setup, path: str) -> None:
    before = len(running.backend.received)
    assert raw_call(running.edge.port, path, {"x-api-key": running.edge.keys[0]}).status == 400
    assert running.backend.received[before:] == []


@pytest.fixture(scope="module")
def client_throttled(routes: RoutesFile, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with backend() as cell_router:
        plan = replace(
            compile_edge(routes, DAY_SUNSET, {"cell_router": cell_router.url}), client_rate_limit=RateLimit(rate=1, burst=20)
        )
        with nginx_edge(plan, tmp_path_factory.mktemp("nginx-client")) as edge:
            yield Setup(plan, edge, cell_router)


def test_wrong_keys_are_throttled_per_client_address(client_throttled: Setup) -> None:
    started = time.monotonic()
    statuses = [raw_call(client_throttled.edge.port, "/v1/Messages", {"x-api-key": f"guess-{i}"}).status for i in range(300)]
    elapsed = time.monotonic() - started
    allowed = client_throttled.plan.client_rate_limit.burst + 1 + int(elapsed * client_throttled.plan.client_rate_limit.rate)
    assert set(statuses) == {403, 429}
    assert statuses.count(403) <= allowed
    assert statuses.count(429) >= 300 - allowed
    assert statuses[-1] == 429
    assert client_throttled.backend.received == []


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("edge-pki"))


@pytest.fixture(scope="module")
def tls_setup(routes: RoutesFile, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Edge, Edge, TlsCell]]:
    """Two TLS edges in front of an HTTPS cell router: one trusting its CA, one trusting another CA."""
    stranger = make_pki(tmp_path_factory.mktemp("stranger-pki"))
    with tls_cell(pki) as cell:
        plan = compile_edge(routes, DAY_SUNSET, {"cell_router": cell.url})
        trusting = NginxOptions(certificate=str(pki.cert_file), certificate_key=str(pki.key_file), upstream_ca=str(pki.ca_file))
        distrusting = replace(trusting, upstream_ca=str(stranger.ca_file))
        with nginx_edge(plan, tmp_path_factory.mktemp("nginx-tls"), options=trusting) as good, \
                nginx_edge(plan, tmp_path_factory.mktemp("nginx-tls-bad-ca"), options=distrusting) as bad:
            yield good, bad, cell


def test_tls_listener_with_hsts_and_verified_upstream(tls_setup: tuple[Edge, Edge, TlsCell], pki: Pki) -> None:
    good, _, cell = tls_setup
    before = len(cell.received)
    reply = raw_call(good.port, "/v1/Calls/CA1", {"x-api-key": good.keys[0]}, pki.client_context())
    assert reply.status == 200
    assert reply.headers["Strict-Transport-Security"] == HSTS
    assert reply.headers["Sunset"] is not None  # lifecycle headers still there beside HSTS
    assert [r.path for r in cell.received[before:]] == ["/voice/v1/calls/CA1"]
    refused = raw_call(good.port, "/v1/Calls/CA1", {"x-api-key": "wrong"}, pki.client_context())
    assert (refused.status, refused.headers["Strict-Transport-Security"]) == (403, HSTS)
    before = len(cell.received)
    plain = raw_call(good.port, "/v1/Calls/CA1", {"x-api-key": good.keys[0]})  # plain HTTP on the TLS port
    assert plain.status == 400
    assert cell.received[before:] == []


def test_upstream_certificate_not_from_the_trusted_ca_is_refused(tls_setup: tuple[Edge, Edge, TlsCell], pki: Pki) -> None:
    _, bad, cell = tls_setup
    before = len(cell.received)
    reply = raw_call(bad.port, "/v1/Calls/CA1", {"x-api-key": bad.keys[0]}, pki.client_context())
    assert reply.status == 502
    assert cell.received[before:] == []
