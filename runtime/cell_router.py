"""Cell router: the caller's API key -> its customer's cell, then forward the request there (a Lambda).

Invoked only by API Gateway through a REST API Lambda proxy integration (payload 1.0); every
routed method requires an API key, so API Gateway has authenticated the caller and names the
key in `requestContext.identity.apiKeyId`. That id is the identity: the router table
(`TABLE_NAME`, keyed by `api_key_id`, items `account_id`, `cell_id`, `endpoint`) maps it to
the customer's account and cell. No header the client sends chooses the account or the cell:
`x-account-id`, `x-cell-id`, `x-edge-route` and `x-forwarded-for` are set by the router, and
only an allow-list of request headers (`FORWARD_HEADERS`) reaches the cell, never
credentials (`x-api-key`, `authorization`, `cookie`) or hop-by-hop headers.

The event's `resource` (`/v1/Calls` or `/v1/Calls/{proxy+}`) names the edge route; `EDGE_ROUTES`
(JSON, rendered by `render_aws.router_routes`) maps it to the version-specific handler path and
the lifecycle headers (Deprecation, Sunset, Link) the router adds to its response. A resource
missing from the table is answered 404.

As a client the router is strict: endpoints from the table must be `https://` on a host under
`CELL_HOST_SUFFIX` (anything else, `file://` included, is never opened); `.`/`..` segments and
encoded slashes in the path are refused; redirects are never followed (http.client has no
redirect handling; a `Location` is passed back only when it is relative); one deadline
(`DEADLINE` seconds) bounds the whole exchange; a reply over `MAX_RESPONSE_BYTES` (below
Lambda's 6 MB payload limit after base64) is a 502; network and protocol errors are a 502
that names no host, port or exception. Lookups are cached in a bounded LRU (`CACHE_SIZE`
entries, `CACHE_TTL` seconds; misses are cached too). `CA_BUNDLE` optionally names the CA
file that cell certificates chain to (default: the runtime's trust store).

Runs on the Lambda Python runtime with only the standard library and boto3.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

log = logging.getLogger(__name__)

PROXY_SUFFIX = "/{proxy+}"
# Request headers a cell may see from the client; everything else is dropped.
FORWARD_HEADERS = frozenset(
    {"accept", "accept-language", "content-type", "idempotency-key", "if-match", "if-none-match", "user-agent"}
)
# Response headers passed back from the cell (the router adds its own and the lifecycle ones).
REPLY_HEADERS = frozenset(
    {"cache-control", "content-language", "content-type", "etag", "last-modified", "location", "retry-after", "x-request-id"}
)
RouteTable = Mapping[str, Mapping[str, Any]]  # routed path -> {"backend": str, "headers": [[name, value], ...]}


@dataclass(frozen=True)
class Placement:
    """Where an API key's requests go: the customer's account and its cell."""

    account_id: str
    cell_id: str
    endpoint: str


class CellDirectory:
    """API key id -> placement, from DynamoDB, behind a bounded LRU cache with a TTL (misses cached too)."""

    def __init__(
        self, table: Any, ttl: float = 60.0, size: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.table = table
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self.lookups = 0
        self._cache: OrderedDict[str, tuple[float, Placement | None]] = OrderedDict()

    def find(self, api_key_id: str) -> Placement | None:
        now = self.clock()
        hit = self._cache.get(api_key_id)
        if hit is not None and now - hit[0] < self.ttl:
            self._cache.move_to_end(api_key_id)
            return hit[1]
        self.lookups += 1
        item = self.table.get_item(Key={"api_key_id": api_key_id}).get("Item")
        placement = None
        if item and all(isinstance(item.get(k), str) for k in ("account_id", "cell_id", "endpoint")):
            placement = Placement(item["account_id"], item["cell_id"], item["endpoint"])
        self._cache[api_key_id] = (now, placement)
        self._cache.move_to_end(api_key_id)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return placement

    def __len__(self) -> int:
        return len(self._cache)


@dataclass(frozen=True)
class ClientPolicy:
    """How the router talks to cells."""

    host_suffix: str  # cell endpoints must be https://<name>.<suffix>[:port]
    deadline: float = 10.0  # seconds for the whole exchange with the cell
    max_response: int = 4_000_000  # bytes; base64 makes it 5.3 MB, under Lambda's 6 MB
    ssl_context: ssl.SSLContext | None = None


@dataclass(frozen=True)
class Target:
    host: str
    port: int


def cell_target(endpoint: str, host_suffix: str) -> Target | None:
    """The endpoint as a host and port when it is `https://<host under the suffix>[:port][/]`; else None."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port or 443
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    suffix = host_suffix.lower().strip(".")
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        return None
    if parts.path not in {"", "/"} or parts.query or parts.fragment or not suffix:
        return None
    if host != suffix and not host.endswith("." + suffix):
        return None
    return Target(host, port)


def safe_path(path: str) -> str | None:
    """The path percent-encoded for the request line, or None if it has `.`/`..`, empty or encoded-slash segments."""
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered or "\\" in path:
        return None
    segments = path.split("/")[1:]
    for segment in segments:
        if unquote(segment) in {"", ".", ".."} or "/" in unquote(segment):
            return None
    return "/" + "/".join(quote(s, safe="-._~!$&'()*+,;=:@") for s in segments)


def resolve(routes: RouteTable, resource: str, proxy: str | None) -> tuple[str, dict[str, str]] | None:
    """API Gateway resource (+ `{proxy+}` value) -> (handler path, lowercased lifecycle headers); None if not routed."""
    route = routes.get(resource.removesuffix(PROXY_SUFFIX))
    if route is None:
        return None
    rest = "/" + proxy if resource.endswith(PROXY_SUFFIX) and proxy else ""
    return str(route["backend"]) + rest, {str(n).lower(): str(v) for n, v in route.get("headers", [])}


def _response(status: int, message: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps({"message": message}, sort_keys=True),
        "isBase64Encoded": False,
    }


def _reply(status: int, headers: dict[str, str], payload: bytes) -> dict[str, Any]:
    """REST APIs without binary media types pass `body` through verbatim, so text goes back as text."""
    try:
        return {"statusCode": status, "headers": headers, "body": payload.decode(), "isBase64Encoded": False}
    except UnicodeDecodeError:
        return {"statusCode": status, "headers": headers, "body": base64.b64encode(payload).decode(), "isBase64Encoded": True}


class CellError(Exception):
    """The exchange with the cell failed; `status` is what the client gets (502 or 504)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise CellError(504, "the cell did not answer in time")
    return left


def exchange(
    target: Target, method: str, path: str, body: bytes | None, headers: dict[str, str], policy: ClientPolicy
) -> tuple[int, dict[str, str], bytes]:
    """One request to a cell over TLS under the policy's deadline and size cap; no redirects are followed.

    A timer shuts the socket down at the deadline, so a cell that trickles bytes cannot hold the
    request past it (socket timeouts alone bound each read, not the exchange).
    """
    deadline = time.monotonic() + policy.deadline
    context = policy.ssl_context or ssl.create_default_context()
    conn = http.client.HTTPSConnection(target.host, target.port, timeout=policy.deadline, context=context)
    timer: threading.Timer | None = None
    try:
        conn.connect()
        sock = conn.sock
        timer = threading.Timer(_remaining(deadline), _shutdown, (sock,))
        timer.daemon = True
        timer.start()
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        declared = reply.getheader("content-length")
        if declared is not None and declared.isdigit() and int(declared) > policy.max_response:
            raise CellError(502, "the cell's response is too large")
        chunks: list[bytes] = []
        size = 0
        while chunk := reply.read1(65536):
            size += len(chunk)
            if size > policy.max_response:
                raise CellError(502, "the cell's response is too large")
            chunks.append(chunk)
        _remaining(deadline)
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, b"".join(chunks)
    except (OSError, http.client.HTTPException) as exc:
        _remaining(deadline)  # past the deadline: 504
        log.warning("cell exchange failed: %s", type(exc).__name__)
        raise CellError(502, "the cell is unavailable") from None
    finally:
        if timer is not None:
            timer.cancel()
        conn.close()


def _shutdown(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _reply_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {k: v for k, v in headers.items() if k in REPLY_HEADERS}
    location = out.get("location")
    if location is not None and (not location.startswith("/") or location.startswith("//")):
        del out["location"]  # never point the client at another host
    return out


def _placement(event: dict[str, Any], directory: CellDirectory, policy: ClientPolicy) -> tuple[Placement, Target]:
    """The authenticated key's placement and its cell's address; CellError when there is none to use."""
    key_id = ((event.get("requestContext") or {}).get("identity") or {}).get("apiKeyId")
    if not isinstance(key_id, str) or not key_id:
        raise CellError(403, "an API key is required")
    placement = directory.find(key_id)
    if placement is None:
        raise CellError(403, "this API key is not assigned to an account")
    target = cell_target(placement.endpoint, policy.host_suffix)
    if target is None:
        log.error("refused endpoint of cell %s: not https under the cell host suffix", placement.cell_id)
        raise CellError(502, "the cell is unavailable")
    return placement, target


def _forward_headers(event: dict[str, Any], placement: Placement, resource: str) -> dict[str, str]:
    """The allow-listed client headers plus the router's own, which no client value can replace."""
    context = event.get("requestContext") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return {k: v for k, v in headers.items() if k in FORWARD_HEADERS} | {
        "x-account-id": placement.account_id,
        "x-cell-id": placement.cell_id,
        "x-edge-route": resource.removesuffix(PROXY_SUFFIX),
        "x-request-id": str(context.get("requestId") or ""),
        "x-forwarded-for": str((context.get("identity") or {}).get("sourceIp") or ""),
        "x-forwarded-proto": "https",
    }


def route_request(
    event: dict[str, Any], directory: CellDirectory, policy: ClientPolicy, routes: RouteTable
) -> dict[str, Any]:
    """Handle one API Gateway REST proxy event: the key's cell, then the request forwarded there."""
    if "httpMethod" not in event:
        return _response(400, "unsupported event")
    resource = str(event.get("resource") or "")
    found = resolve(routes, resource, (event.get("pathParameters") or {}).get("proxy"))
    if found is None:
        return _response(404, "not found")
    handler_path, extra = found
    try:
        path = safe_path(handler_path)
        if path is None:
            raise CellError(400, "invalid path")
        placement, target = _placement(event, directory, policy)
        multi = event.get("multiValueQueryStringParameters") or {}
        single = {k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
        query = urlencode(sorted((multi or single).items()), doseq=True)
        body = event.get("body")
        data = None if body is None else base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
        forward = _forward_headers(event, placement, resource)
        line = path + (f"?{query}" if query else "")
        status, reply_headers, payload = exchange(target, str(event["httpMethod"]), line, data, forward, policy)
    except CellError as err:
        return _response(err.status, str(err), extra)
    out = _reply_headers(reply_headers) | extra
    out["x-cell-id"] = placement.cell_id
    return _reply(status, out, payload)


_directory: CellDirectory | None = None
_routes: dict[str, Any] | None = None
_policy: ClientPolicy | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001 - Lambda signature
    """Lambda entry point; directory (and its cache), routes and TLS context live as long as the environment."""
    global _directory, _routes, _policy  # noqa: PLW0603 - one cache per Lambda execution environment
    if _directory is None:
        import boto3

        table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
        ttl, size = float(os.environ.get("CACHE_TTL", "60")), int(os.environ.get("CACHE_SIZE", "1024"))
        _directory = CellDirectory(table, ttl=ttl, size=size)
    if _routes is None:
        _routes = json.loads(os.environ.get("EDGE_ROUTES") or "{}")
    if _policy is None:
        _policy = ClientPolicy(
            host_suffix=os.environ["CELL_HOST_SUFFIX"],
            deadline=float(os.environ.get("DEADLINE", "10")),
            max_response=int(os.environ.get("MAX_RESPONSE_BYTES", "4000000")),
            ssl_context=ssl.create_default_context(cafile=os.environ.get("CA_BUNDLE") or None),
        )
    return route_request(event, _directory, _policy, _routes)
