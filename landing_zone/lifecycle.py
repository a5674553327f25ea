"""Version lifecycle: the routes config at a date -> what the edge does for each path.

Deprecation is an RFC 9745 structured-field date (`@<epoch seconds>`, serialised with
http-sfv), Sunset an RFC 8594 HTTP-date (stdlib `email.utils`), and one Link header
carries `rel="deprecation"` and `rel="sunset"` (RFC 8288).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from enum import StrEnum

from http_sfv.item import Item as SfvItem

from model.cells import Product
from model.routes import AfterSunset, RateLimit, Route, RoutesFile, RouteStatus


class Phase(StrEnum):
    """Where a route is in its lifecycle on a given day."""

    PENDING = "pending"  # deployed to cells, not yet enabled (disabled, or before `introduced`)
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    SUNSET = "sunset"


class Action(StrEnum):
    """What the edge does with a request for the route's path."""

    ROUTE = "route"  # forward to the backend
    GONE = "gone"  # answer 410 Gone
    NONE = "none"  # not routed: 404 like any unknown path


@dataclass(frozen=True)
class EdgeRoute:
    """One route compiled for a date: the action, the backend and the response headers."""

    path: str
    service: Product
    version: str
    phase: Phase
    action: Action
    upstream: str
    upstream_url: str
    backend_path: str
    headers: tuple[tuple[str, str], ...]
    alias_of: str | None = None

    @property
    def backend_url(self) -> str:
        return self.upstream_url + self.backend_path

    @property
    def slug(self) -> str:
        """A name for the route usable in any gateway: `v1-messages`."""
        return self.path.strip("/").replace("/", "-").replace(".", "-").replace("~", "-").lower()


@dataclass(frozen=True)
class EdgePlan:
    """The whole edge on one day: routes sorted by path, plus auth and rate limit."""

    at: date
    routes: tuple[EdgeRoute, ...]
    upstreams: dict[str, str]
    api_key_header: str
    rate_limit: RateLimit  # per API key
    client_rate_limit: RateLimit  # per client address, every request
    stage_rate_limit: RateLimit  # the whole API Gateway stage

    @property
    def exposed(self) -> tuple[EdgeRoute, ...]:
        """Routes the gateway knows about (routed or answering 410)."""
        return tuple(r for r in self.routes if r.action is not Action.NONE)


def deprecation_value(day: date) -> str:
    """RFC 9745 Deprecation: a structured-field Date, `@<epoch seconds>`."""
    return str(SfvItem(_midnight(day)))


def sunset_value(day: date) -> str:
    """RFC 8594 Sunset: an IMF-fixdate HTTP-date."""
    return format_datetime(_midnight(day), usegmt=True)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def phase_at(route: Route, at: date) -> Phase:
    if route.status is RouteStatus.DISABLED or (route.introduced is not None and at < route.introduced):
        return Phase.PENDING
    if route.sunset_date is not None and at >= route.sunset_date:
        return Phase.SUNSET
    if route.status is RouteStatus.DEPRECATED or (route.deprecation_date is not None and at >= route.deprecation_date):
        return Phase.DEPRECATED
    return Phase.ACTIVE


def lifecycle_headers(route: Route, documentation: str | None) -> tuple[tuple[str, str], ...]:
    """Deprecation, Sunset and Link for a deprecated (or sunset) route."""
    headers: list[tuple[str, str]] = []
    if route.deprecation_date is not None:
        headers.append(("Deprecation", deprecation_value(route.deprecation_date)))
    if route.sunset_date is not None:
        headers.append(("Sunset", sunset_value(route.sunset_date)))
    if documentation is not None and headers:
        links = [f'<{documentation}>; rel="deprecation"; type="text/html"']
        if route.sunset_date is not None:
            links.append(f'<{documentation}>; rel="sunset"; type="text/html"')
        headers.append(("Link", ", ".join(links)))
    return tuple(headers)


def compile_edge(routes: RoutesFile, at: date, overrides: dict[str, str] | None = None) -> EdgePlan:
    """Every route of the config as the edge treats it on day `at` (pure)."""
    config = routes.config
    upstreams = {k: v.rstrip("/") for k, v in config.upstreams.items()} | dict(overrides or {})
    compiled: list[EdgeRoute] = []
    for route in config.routes:
        handler = routes.handler(route)
        phase = phase_at(route, at)
        if phase is Phase.PENDING:
            action = Action.NONE
        elif phase is Phase.SUNSET:
            action = Action.GONE if config.defaults.after_sunset is AfterSunset.GONE else Action.NONE
        else:
            action = Action.ROUTE
        headers = lifecycle_headers(route, routes.documentation(route)) if phase in {Phase.DEPRECATED, Phase.SUNSET} else ()
        compiled.append(
            EdgeRoute(
                path=route.path,
                service=handler.service,
                version=handler.version,
                phase=phase,
                action=action,
                upstream=handler.upstream,
                upstream_url=upstreams[handler.upstream],
                backend_path=handler.backend_path,
                headers=headers,
                alias_of=route.alias_of,
            )
        )
    compiled.sort(key=lambda r: r.path)
    return EdgePlan(
        at=at,
        routes=tuple(compiled),
        upstreams=upstreams,
        api_key_header=config.defaults.api_keys.header,
        rate_limit=config.defaults.rate_limit,
        client_rate_limit=config.defaults.client_rate_limit,
        stage_rate_limit=config.defaults.stage_rate_limit,
    )


def decide(plan: EdgePlan, request_path: str) -> tuple[int, str | None]:
    """The reference decision for a request path: (status, backend path) — 200 routed, 410, 404.

    A route matches its path exactly or followed by `/` (so `/v1` never matches `/v10`).
    """
    for route in plan.exposed:
        if request_path == route.path or request_path.startswith(route.path + "/"):
            if route.action is Action.GONE:
                return 410, None
            return 200, route.backend_path + request_path[len(route.path):]
    return 404, None
