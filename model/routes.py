"""The routes config (`landing_zone/api-gateway-config.yaml`): typed model and validating loader.

Every problem is reported as `path:line: field: message`; the model after loading is
consistent (dates in order, no duplicate or nested paths, aliases resolved).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from model.cells import ApiVersion, Product
from model.errors import InputError, InputErrors
from model.urls import HOST, PORT, URL_PATH, port_ok
from model.validation import Strict, parse_model
from model.yamldoc import Document

ROUTES_FILE = "landing_zone/api-gateway-config.yaml"
PATH = re.compile(r"^/(v(?:0|[1-9]\d*))(?:/[A-Za-z0-9._~-]+)+$")
BACKEND = re.compile(r"^\$\{([a-z_][a-z0-9_]*)\}((?:/[A-Za-z0-9._~-]+)+)$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
DATE_FIELDS = ("deployed", "introduced", "deprecation_date", "sunset_date")
UPSTREAM_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class RouteStatus(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    DISABLED = "disabled"


class AfterSunset(StrEnum):
    """What a route does once its sunset date has passed."""

    GONE = "gone"  # answer 410 Gone with the lifecycle headers
    REMOVE = "remove"  # drop the route: 404 like any unknown path


# Values that reach generated configs (nginx, Kong, Envoy, OpenAPI) are checked here, at input
# (host, port and path patterns: model.urls).
UPSTREAM_URL = re.compile(rf"^https?://{HOST}{PORT}/?$")
DOCUMENTATION_URL = re.compile(rf"^https://{HOST}{PORT}{URL_PATH}(?:#[A-Za-z0-9._~-]*)?$")
# Headers the edge sets itself from the authenticated identity; a client's values are dropped.
ACCOUNT_HEADER = "x-account-id"
CELL_HEADER = "x-cell-id"
ROUTE_HEADER = "x-edge-route"
EDGE_HEADER_PREFIX = "x-edge-"
FORWARDED_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port",
                     "x-forwarded-prefix", "x-forwarded-proto", "x-real-ip")


def upstream_url(value: str) -> str:
    """`http(s)://host[:port]` with a DNS name or IPv4 host, or ValueError; returned without a trailing `/`."""
    if not (UPSTREAM_URL.match(value) and port_ok(value)):
        rule = "must be http(s)://host[:port] (lowercase host name or IPv4, no path, no quotes, $, ; or spaces)"
        raise ValueError(f"{value!r} {rule}")
    return value.rstrip("/")


def _documentation_url(value: str) -> str:
    if not (DOCUMENTATION_URL.match(value) and port_ok(value)):
        raise ValueError(f"{value!r} must be https://host[:port][/path] (letters, digits, . _ ~ % - in the path)")
    return value


DocumentationUrl = Annotated[str, AfterValidator(_documentation_url)]


def _header_name(value: str) -> str:
    lowered = value.lower()
    if lowered in {ACCOUNT_HEADER, CELL_HEADER, *FORWARDED_HEADERS} or lowered.startswith(EDGE_HEADER_PREFIX):
        raise ValueError(f"{value!r} is a header the edge sets itself")
    return value


class ApiKeyAuth(Strict):
    """API keys checked at the edge; the key values live in the gateway, never in this file."""

    header: Annotated[str, AfterValidator(_header_name)] = Field(default="x-api-key", pattern=HEADER_NAME.pattern)


class RateLimit(Strict):
    """Token bucket per API key: `rate` requests per second, `burst` extra requests."""

    rate: int = Field(ge=1, le=100_000)
    burst: int = Field(ge=0, le=100_000)


class EdgeDefaults(Strict):
    api_keys: ApiKeyAuth = ApiKeyAuth()
    rate_limit: RateLimit  # per API key
    # Per client address, on every request (rejected ones included): nginx, Kong, Envoy, the AWS WAF rule.
    client_rate_limit: RateLimit = RateLimit(rate=100, burst=200)
    # The whole API Gateway stage; above the per-key limit so one key cannot use it all.
    stage_rate_limit: RateLimit = RateLimit(rate=1000, burst=2000)
    after_sunset: AfterSunset = AfterSunset.GONE
    documentation: DocumentationUrl | None = None


    @model_validator(mode="after")
    def _stage_above_key(self) -> EdgeDefaults:
        if self.stage_rate_limit.rate <= self.rate_limit.rate:
            raise ValueError(
                f"stage_rate_limit.rate ({self.stage_rate_limit.rate}) must be above rate_limit.rate ({self.rate_limit.rate})"
            )
        return self


class Route(Strict):
    """One path at the edge: a handler (service + version) behind a backend, with its lifecycle."""

    path: str
    service: Product | None = None
    version: ApiVersion | None = None
    status: RouteStatus
    backend: str | None = None
    alias_of: str | None = None
    deployed: date | None = None
    introduced: date | None = None
    deprecation_date: date | None = None
    sunset_date: date | None = None
    documentation: DocumentationUrl | None = None

    @property
    def path_version(self) -> str:
        return self.path.split("/")[1]


UpstreamUrl = Annotated[str, AfterValidator(upstream_url)]


class RoutesConfig(Strict):
    upstreams: dict[str, UpstreamUrl] = Field(min_length=1)
    defaults: EdgeDefaults
    routes: tuple[Route, ...]

    @field_validator("upstreams")
    @classmethod
    def _upstream_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not UPSTREAM_NAME.match(name):
                raise ValueError(f"upstream name {name!r} must be lowercase letters, digits and underscores")
        return value

    @field_validator("routes")
    @classmethod
    def _some_routes(cls, value: tuple[Route, ...]) -> tuple[Route, ...]:
        if not value:
            raise ValueError("at least one route is required")
        return value


@dataclass(frozen=True)
class Handler:
    """What a route finally invokes: after following its alias."""

    service: Product
    version: str
    upstream: str
    backend_path: str


@dataclass(frozen=True)
class RoutesFile:
    """A validated routes config and where its routes are in the file (for gate messages)."""

    config: RoutesConfig
    shown: str
    route_lines: tuple[int, ...]
    status_lines: tuple[int, ...]

    def handler(self, route: Route) -> Handler:
        target = self.by_path()[route.alias_of] if route.alias_of else route
        match = BACKEND.match(target.backend or "")
        assert match is not None
        assert target.service is not None
        assert target.version is not None
        return Handler(target.service, target.version, match.group(1), match.group(2))

    def by_path(self) -> dict[str, Route]:
        return {r.path: r for r in self.config.routes}

    def documentation(self, route: Route) -> str | None:
        return route.documentation or self.config.defaults.documentation


def parse_upstream_overrides(pairs: list[str], upstreams: dict[str, str]) -> dict[str, str]:
    """`--set NAME=URL` values -> upstream overrides; InputErrors (`--set:N: NAME: message`) for each bad one."""
    out: dict[str, str] = {}
    errors: list[InputError] = []
    for n, pair in enumerate(pairs, start=1):
        name, sep, url = pair.partition("=")
        if not sep or name not in upstreams:
            known = ", ".join(sorted(upstreams))
            errors.append(InputError("--set", n, name or "(name)", f"{pair!r}: expected NAME=URL with NAME one of: {known}"))
            continue
        try:
            out[name] = upstream_url(url)
        except ValueError as exc:
            errors.append(InputError("--set", n, name, str(exc)))
    if errors:
        raise InputErrors(errors)
    return out


CONFIG_PATH = re.compile(r"^/?[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$")


def parse_config_paths(paths: dict[str, str]) -> dict[str, str]:
    """File paths for a generated config (option -> path); InputErrors (`--tls-cert:0: path: ...`) unless safe."""
    errors = [
        InputError(option, 0, "path", f"{value!r} must be letters, digits, . _ - and /, without ..")
        for option, value in paths.items()
        if not CONFIG_PATH.match(value) or ".." in value.split("/")
    ]
    if errors:
        raise InputErrors(errors)
    return paths


def _route_errors(
    doc: Document, index: int, route: Route, upstreams: dict[str, str], has_default_doc: bool
) -> list[InputError]:
    errors: list[InputError] = []

    def err(key: str, message: str) -> None:
        loc = ("routes", index, key)
        errors.append(doc.error(loc if doc.has(loc) else ("routes", index), message, f"routes[{index}].{key}"))

    if not PATH.match(route.path):
        err("path", f"{route.path!r} must look like /v1/Messages: a version segment, then segments of letters, digits, . _ ~ -")
    if route.alias_of is not None:
        for key in ("service", "version", "backend"):
            if getattr(route, key) is not None:
                err(key, f"an alias takes its {key} from the route it aliases ({route.alias_of})")
    else:
        _handler_errors(route, upstreams, err)
    present = [(k, getattr(route, k)) for k in DATE_FIELDS if getattr(route, k) is not None]
    for (k1, d1), (k2, d2) in itertools.pairwise(present):
        if d1 > d2:
            err(k2, f"{d2.isoformat()} is before {k1} {d1.isoformat()}")
    if route.status is RouteStatus.DEPRECATED and route.deprecation_date is None:
        err("deprecation_date", "required when status is deprecated")
    if route.sunset_date is not None and route.deprecation_date is None:
        err("deprecation_date", "required when sunset_date is set (deprecate before sunset)")
    if route.deprecation_date is not None and route.documentation is None and not has_default_doc:
        err("documentation", "required for a deprecated route (the Link header); or set defaults.documentation")
    return errors


def _handler_errors(route: Route, upstreams: dict[str, str], err: Callable[[str, str], None]) -> None:
    """A route that is not an alias names its service, version and backend, consistently with its path."""
    for key in ("service", "version", "backend"):
        if getattr(route, key) is None:
            err(key, "required key is missing (or set alias_of)")
    if route.version is not None and PATH.match(route.path) and route.path_version != route.version:
        err("version", f"path version {route.path_version} differs from handler version {route.version}; use alias_of")
    if route.backend is not None:
        match = BACKEND.match(route.backend)
        if match is None:
            err("backend", f"{route.backend!r} must look like ${{cell_router}}/sms/v1/messages")
        elif match.group(1) not in upstreams:
            err("backend", f"unknown upstream ${{{match.group(1)}}}; define it under upstreams")


def _table_errors(doc: Document, routes: tuple[Route, ...]) -> list[InputError]:
    errors: list[InputError] = []
    seen: dict[str, int] = {}
    folded: dict[str, int] = {}
    for i, route in enumerate(routes):
        where = ("routes", i, "path")
        if route.path in seen:
            errors.append(doc.error(where, f"duplicate path, also routes[{seen[route.path]}]"))
            continue
        if route.path.lower() in folded:
            twin = routes[folded[route.path.lower()]].path
            errors.append(doc.error(where, f"ambiguous: differs from {twin} only in letter case"))
        seen[route.path] = i
        folded.setdefault(route.path.lower(), i)
    for i, route in enumerate(routes):
        for j, other in enumerate(routes):
            if i != j and route.path.startswith(other.path + "/"):
                errors.append(doc.error(("routes", i, "path"), f"ambiguous: nested under routes[{j}] {other.path}"))
                break
        if route.alias_of is None:
            continue
        target = seen.get(route.alias_of)
        if target is None:
            errors.append(doc.error(("routes", i, "alias_of"), f"no route with path {route.alias_of}"))
        elif target == i:
            errors.append(doc.error(("routes", i, "alias_of"), "a route cannot alias itself"))
        elif routes[target].alias_of is not None:
            message = f"{route.alias_of} is itself an alias; point at its handler route"
            errors.append(doc.error(("routes", i, "alias_of"), message))
    return errors


def _precheck(doc: Document) -> list[InputError]:
    """Clearer messages for keys people copy from the seed's example."""
    errors: list[InputError] = []
    routes = doc.data.get("routes") if isinstance(doc.data, dict) else None
    for i, route in enumerate(routes if isinstance(routes, list) else []):
        if isinstance(route, dict) and "response_headers" in route:
            errors.append(
                doc.error(("routes", i, "response_headers"), "computed from deprecation_date and sunset_date; remove it")
            )
    return errors


def parse_routes(doc: Document) -> RoutesFile:
    """Validate a loaded routes document; raise InputErrors listing every problem."""
    errors = _precheck(doc)
    data: Any = doc.data
    if errors:
        for route in data.get("routes") or []:
            if isinstance(route, dict):
                route.pop("response_headers", None)
    try:
        config = parse_model(doc, RoutesConfig, data)
    except InputErrors as exc:
        raise InputErrors([*errors, *exc.errors]) from None
    has_default_doc = config.defaults.documentation is not None
    for i, route in enumerate(config.routes):
        errors.extend(_route_errors(doc, i, route, config.upstreams, has_default_doc))
    errors.extend(_table_errors(doc, config.routes))
    if errors:
        raise InputErrors(errors)
    n = len(config.routes)
    return RoutesFile(
        config=config,
        shown=doc.shown,
        route_lines=tuple(doc.line_of(("routes", i)) for i in range(n)),
        status_lines=tuple(doc.line_of(("routes", i, "status")) for i in range(n)),
    )
