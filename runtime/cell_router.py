"""Cell router: customer account -> its cell, then forward the request there (a Lambda).

Invoked only by API Gateway through a REST API Lambda proxy integration (payload 1.0); the
event's `resource` (`/v1/Calls` or `/v1/Calls/{proxy+}`) names the edge route. `EDGE_ROUTES`
(JSON, rendered by `render_aws.router_routes`) maps each routed path to its version-specific
handler path and its lifecycle headers: the router forwards to `<handler path>/<proxy>` and
adds the headers (Deprecation, Sunset, Link) to its response, since a Lambda proxy
integration can neither map request headers nor add response headers. A resource missing
from the table is answered 404. The customer's cell comes from a DynamoDB table
(`account_id` -> `cell_id`, `endpoint`), cached for `CACHE_TTL` seconds; method, path,
query, headers and body go to the cell's endpoint.

Function URL events (payload 2.0, already on the handler path) are still understood for
local use; there the edge's `x-edge-set-<name>` request headers become response headers.
Runs on the Lambda Python runtime with only the standard library and boto3. Environment:
`TABLE_NAME`, `EDGE_ROUTES`, `ACCOUNT_HEADER` (default `x-account-id`), `CACHE_TTL`
(default 60), `FORWARD_TIMEOUT` (default 10).
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

SET_HEADER_PREFIX = "x-edge-set-"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}
PROXY_SUFFIX = "/{proxy+}"
RouteTable = Mapping[str, Mapping[str, Any]]  # routed path -> {"backend": str, "headers": [[name, value], ...]}


@dataclass(frozen=True)
class Placement:
    cell_id: str
    endpoint: str


class CellDirectory:
    """Account -> cell lookups against DynamoDB with a time-bounded cache (misses are cached too)."""

    def __init__(self, table: Any, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.table = table
        self.ttl = ttl
        self.clock = clock
        self.lookups = 0
        self._cache: dict[str, tuple[float, Placement | None]] = {}

    def find(self, account_id: str) -> Placement | None:
        now = self.clock()
        hit = self._cache.get(account_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        self.lookups += 1
        item = self.table.get_item(Key={"account_id": account_id}).get("Item")
        placement = Placement(str(item["cell_id"]), str(item["endpoint"]).rstrip("/")) if item else None
        self._cache[account_id] = (now, placement)
        return placement


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, sort_keys=True),
    }


def edge_headers(request_headers: dict[str, str]) -> dict[str, str]:
    """`x-edge-set-sunset: X` on the request -> `sunset: X` on the response."""
    return {k[len(SET_HEADER_PREFIX):]: v for k, v in request_headers.items() if k.lower().startswith(SET_HEADER_PREFIX)}


def resolve(routes: RouteTable, resource: str, proxy: str | None) -> tuple[str, dict[str, str]] | None:
    """API Gateway resource (+ `{proxy+}` value) -> (handler path, lowercased lifecycle headers); None if not routed."""
    route = routes.get(resource.removesuffix(PROXY_SUFFIX))
    if route is None:
        return None
    rest = "/" + proxy if resource.endswith(PROXY_SUFFIX) and proxy else ""
    return str(route["backend"]) + rest, {str(n).lower(): str(v) for n, v in route.get("headers", [])}


@dataclass(frozen=True)
class Incoming:
    """A request as the router forwards it, whatever the event format."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str | None
    base64_body: bool
    extra: dict[str, str]  # headers to add to the response
    rest_api: bool


def _from_rest_proxy(event: dict[str, Any], routes: RouteTable) -> Incoming | None:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    proxy = (event.get("pathParameters") or {}).get("proxy")
    found = resolve(routes, str(event.get("resource") or ""), proxy)
    if found is None:
        return None
    path, extra = found
    multi = event.get("multiValueQueryStringParameters") or {}
    single = {k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
    query = urlencode(sorted((multi or single).items()), doseq=True)
    return Incoming(
        method=str(event.get("httpMethod") or "GET"),
        path=quote(path, safe="/-._~!$&'()*+,;=:@"),
        query=query,
        headers={k: v for k, v in headers.items() if not k.startswith(SET_HEADER_PREFIX)},  # clients cannot set them
        body=event.get("body"),
        base64_body=bool(event.get("isBase64Encoded")),
        extra=extra,
        rest_api=True,
    )


def _from_function_url(event: dict[str, Any]) -> Incoming:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return Incoming(
        method=((event.get("requestContext") or {}).get("http") or {}).get("method", "GET"),
        path=event.get("rawPath") or "/",
        query=event.get("rawQueryString") or "",
        headers={k: v for k, v in headers.items() if not k.startswith(SET_HEADER_PREFIX)},
        body=event.get("body"),
        base64_body=bool(event.get("isBase64Encoded")),
        extra=edge_headers(headers),
        rest_api=False,
    )


def _reply(status: int, headers: dict[str, str], payload: bytes, rest_api: bool) -> dict[str, Any]:
    """REST APIs without binary media types pass `body` through verbatim, so text goes back as text."""
    if rest_api:
        try:
            return {"statusCode": status, "headers": headers, "body": payload.decode(), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"statusCode": status, "headers": headers, "body": base64.b64encode(payload).decode(), "isBase64Encoded": True}


def route_request(
    event: dict[str, Any], directory: CellDirectory, account_header: str, timeout: float, routes: RouteTable | None = None
) -> dict[str, Any]:
    """Handle one event (REST API Lambda proxy, or function URL): find the account's cell and forward the request."""
    if "httpMethod" in event:
        incoming = _from_rest_proxy(event, routes or {})
        if incoming is None:
            return _response(404, {"message": "not found"})
    else:
        incoming = _from_function_url(event)
    extra = incoming.extra
    account = incoming.headers.get(account_header.lower(), "").strip()
    if not account:
        return _response(400, {"message": f"missing {account_header} header"}, extra)
    placement = directory.find(account)
    if placement is None:
        return _response(404, {"message": "unknown account"}, extra)
    url = placement.endpoint + incoming.path + (f"?{incoming.query}" if incoming.query else "")
    data = None
    if incoming.body is not None:
        data = base64.b64decode(incoming.body) if incoming.base64_body else str(incoming.body).encode()
    forward = {k: v for k, v in incoming.headers.items() if k not in HOP_BY_HOP}
    forward["x-cell-id"] = placement.cell_id
    request = urllib.request.Request(url, data=data, headers=forward, method=incoming.method)  # noqa: S310 - cell endpoints are http(s) from our table
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            status, reply_headers, payload = reply.status, dict(reply.headers.items()), reply.read()
    except urllib.error.HTTPError as err:
        status, reply_headers, payload = err.code, dict(err.headers.items()), err.read()
    except (urllib.error.URLError, TimeoutError) as err:
        return _response(502, {"message": f"cell {placement.cell_id} unreachable: {err}"}, extra)
    out_headers = {k.lower(): v for k, v in reply_headers.items() if k.lower() not in HOP_BY_HOP}
    out_headers.update(extra)
    out_headers["x-cell-id"] = placement.cell_id
    return _reply(status, out_headers, payload, incoming.rest_api)


_directory: CellDirectory | None = None
_routes: dict[str, Any] | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001 - Lambda signature
    """Lambda entry point; the directory (and its cache) lives as long as the execution environment."""
    global _directory, _routes  # noqa: PLW0603 - one cache per Lambda execution environment
    if _directory is None:
        import boto3

        table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
        _directory = CellDirectory(table, ttl=float(os.environ.get("CACHE_TTL", "60")))
    if _routes is None:
        _routes = json.loads(os.environ.get("EDGE_ROUTES") or "{}")
    return route_request(
        event,
        _directory,
        os.environ.get("ACCOUNT_HEADER", "x-account-id"),
        float(os.environ.get("FORWARD_TIMEOUT", "10")),
        _routes,
    )
