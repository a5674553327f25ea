"""Cell router: customer account -> its cell, then forward the request there (a Lambda).

Version-unaware: the edge already chose the handler path (`/sms/v2/messages/...`); this
function only finds the customer's cell in a DynamoDB table (`account_id` -> `cell_id`,
`endpoint`), caches the answer for `CACHE_TTL` seconds, and forwards method, path, query,
headers and body to the cell's endpoint. Headers the edge asks to send back
(`x-edge-set-<name>`, from API Gateway) are added to the response.

Runs on the Lambda Python runtime with only the standard library and boto3; the event is a
Lambda function URL (payload 2.0) event. Environment: `TABLE_NAME`, `ACCOUNT_HEADER`
(default `x-account-id`), `CACHE_TTL` (default 60), `FORWARD_TIMEOUT` (default 10).
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SET_HEADER_PREFIX = "x-edge-set-"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}


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


def route_request(event: dict[str, Any], directory: CellDirectory, account_header: str, timeout: float) -> dict[str, Any]:
    """Handle one function-URL event: look up the account's cell and forward the request."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    extra = edge_headers(headers)
    account = headers.get(account_header.lower(), "").strip()
    if not account:
        return _response(400, {"message": f"missing {account_header} header"}, extra)
    placement = directory.find(account)
    if placement is None:
        return _response(404, {"message": "unknown account"}, extra)
    path = event.get("rawPath") or "/"
    query = event.get("rawQueryString") or ""
    url = placement.endpoint + path + (f"?{query}" if query else "")
    body = event.get("body")
    data = None
    if body is not None:
        data = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    forward = {k: v for k, v in headers.items() if k not in HOP_BY_HOP and not k.startswith(SET_HEADER_PREFIX)}
    forward["x-cell-id"] = placement.cell_id
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "GET")
    request = urllib.request.Request(url, data=data, headers=forward, method=method)  # noqa: S310 - cell endpoints are http(s) from our table
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
    return {
        "statusCode": status,
        "headers": out_headers,
        "body": base64.b64encode(payload).decode(),
        "isBase64Encoded": True,
    }


_directory: CellDirectory | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001 - Lambda signature
    """Lambda entry point; the directory (and its cache) lives as long as the execution environment."""
    global _directory  # noqa: PLW0603 - one cache per Lambda execution environment
    if _directory is None:
        import boto3

        table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
        _directory = CellDirectory(table, ttl=float(os.environ.get("CACHE_TTL", "60")))
    return route_request(
        event,
        _directory,
        os.environ.get("ACCOUNT_HEADER", "x-account-id"),
        float(os.environ.get("FORWARD_TIMEOUT", "10")),
    )
