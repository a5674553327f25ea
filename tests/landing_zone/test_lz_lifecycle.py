"""Lifecycle compiler: phases by date, and headers read back with real parsers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

import pytest
from http_sfv.item import Item
from requests.utils import parse_header_links

from landing_zone.lifecycle import Action, Phase, compile_edge, decide
from model.errors import InputErrors
from model.routes import AfterSunset, RoutesFile, parse_upstream_overrides
from tests.landing_zone.lz_support import DAY_DEPRECATED, DAY_SUNSET, UPSTREAM_RULE


def _route(routes: RoutesFile, at: date, path: str):  # type: ignore[no-untyped-def]
    return {r.path: r for r in compile_edge(routes, at).routes}[path]


@pytest.mark.parametrize(
    ("at", "phase", "action"),
    [
        (date(2023, 1, 9), Phase.PENDING, Action.NONE),  # before /v1/Calls was introduced
        (date(2024, 5, 31), Phase.DEPRECATED, Action.ROUTE),  # status deprecated: announced
        (date(2026, 12, 31), Phase.DEPRECATED, Action.ROUTE),  # the day before sunset
        (date(2027, 1, 1), Phase.SUNSET, Action.GONE),  # sunset day
    ],
)
def test_phase_follows_the_dates(sample_routes: RoutesFile, at: date, phase: Phase, action: Action) -> None:
    route = _route(sample_routes, at, "/v1/Calls")
    assert (route.phase, route.action) == (phase, action)


def test_active_route_turns_deprecated_on_its_deprecation_date(sample_routes: RoutesFile) -> None:
    v1 = sample_routes.config.routes[0]
    changed = RoutesFile(
        config=sample_routes.config.model_copy(
            update={"routes": (v1.model_copy(update={"deprecation_date": date(2026, 1, 1)}), *sample_routes.config.routes[1:])}
        ),
        shown=sample_routes.shown,
        route_lines=sample_routes.route_lines,
        status_lines=sample_routes.status_lines,
    )
    assert _route(changed, date(2025, 12, 31), "/v1/Messages").phase is Phase.ACTIVE
    after = _route(changed, date(2026, 1, 1), "/v1/Messages")
    assert after.phase is Phase.DEPRECATED
    assert "Deprecation" in dict(after.headers)


def test_deprecated_headers_parse_as_rfc_9745_8594_8288(sample_routes: RoutesFile) -> None:
    headers = dict(_route(sample_routes, DAY_DEPRECATED, "/v0/Messages").headers)
    item = Item()
    item.parse(headers["Deprecation"].encode())
    assert isinstance(item.value, datetime)
    assert item.value.timestamp() == datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    assert parsedate_to_datetime(headers["Sunset"]) == datetime(2025, 6, 1, tzinfo=UTC)
    links = {link["rel"]: link["url"] for link in parse_header_links(headers["Link"])}
    assert links == {
        "deprecation": "https://docs.cellfleet.example/api/sms/v0-sunset",
        "sunset": "https://docs.cellfleet.example/api/sms/v0-sunset",
    }


def test_active_routes_carry_no_lifecycle_headers(sample_routes: RoutesFile) -> None:
    plan = compile_edge(sample_routes, DAY_SUNSET)
    assert all(not r.headers for r in plan.routes if r.phase is Phase.ACTIVE)


def test_alias_uses_the_v1_handler(sample_routes: RoutesFile) -> None:
    route = _route(sample_routes, DAY_DEPRECATED, "/v0/Messages")
    assert (route.service.value, route.version, route.backend_path) == ("sms", "v1", "/sms/v1/messages")


def test_after_sunset_policy_remove_drops_the_route(sample_routes: RoutesFile) -> None:
    defaults = sample_routes.config.defaults.model_copy(update={"after_sunset": AfterSunset.REMOVE})
    removing = replace(sample_routes, config=sample_routes.config.model_copy(update={"defaults": defaults}))
    assert _route(removing, DAY_SUNSET, "/v0/Messages").action is Action.NONE
    assert decide(compile_edge(removing, DAY_SUNSET), "/v0/Messages") == (404, None)
    assert decide(compile_edge(sample_routes, DAY_SUNSET), "/v0/Messages") == (410, None)


@pytest.mark.parametrize(
    ("path", "decision"),
    [
        ("/v1/Messages", (200, "/sms/v1/messages")),
        ("/v1/Messages/SM1/Media", (200, "/sms/v1/messages/SM1/Media")),
        ("/v10/Messages", (404, None)),
        ("/v1/MessagesX", (404, None)),
        ("/v2/Rooms", (404, None)),  # disabled: deployed, not enabled
        ("/v0/Messages/SM1", (200, "/sms/v1/messages/SM1")),
    ],
)
def test_reference_decisions(sample_routes: RoutesFile, path: str, decision: tuple[int, str | None]) -> None:
    assert decide(compile_edge(sample_routes, DAY_DEPRECATED), path) == decision


def test_set_overrides_an_upstream(sample_routes: RoutesFile) -> None:
    overrides = parse_upstream_overrides(["cell_router=http://127.0.0.1:9000/"], sample_routes.config.upstreams)
    plan = compile_edge(sample_routes, DAY_DEPRECATED, overrides)
    assert {r.upstream_url for r in plan.routes} == {"http://127.0.0.1:9000"}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (["router=http://x"], ["--set:1: router: 'router=http://x': expected NAME=URL with NAME one of: cell_router"]),
        (["cell_router=http://x/api"], ["--set:1: cell_router: 'http://x/api' " + UPSTREAM_RULE]),
        (
            ["cell_router=http://127.0.0.1:1", "cell_router=http://x;}location /{return 200;}"],
            ["--set:2: cell_router: 'http://x;}location /{return 200;}' " + UPSTREAM_RULE],
        ),
        (["cell_router=http://$host"], ["--set:1: cell_router: 'http://$host' " + UPSTREAM_RULE]),
        (["cell_router"], ["--set:1: cell_router: 'cell_router': expected NAME=URL with NAME one of: cell_router"]),
    ],
)
def test_bad_set_values_are_input_errors(sample_routes: RoutesFile, pairs: list[str], expected: list[str]) -> None:
    with pytest.raises(InputErrors) as caught:
        parse_upstream_overrides(pairs, sample_routes.config.upstreams)
    assert [str(e) for e in caught.value.errors] == expected
