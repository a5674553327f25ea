"""A real nginx serving the rendered edge config in front of a local stand-in cell router."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

import pytest
from http_sfv.item import Item
from requests.utils import parse_header_links

from fleet.inputs import load_routes
from landing_zone.lifecycle import Action, EdgePlan, EdgeRoute, Phase, compile_edge
from model.routes import RateLimit, RoutesFile
from tests.landing_zone.lz_support import DAY_SUNSET, REPO
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
        assert parse_header_links(json.loads(reply.body)["link"])[0]["rel"] == "deprecation"
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
