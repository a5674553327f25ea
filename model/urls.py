"""URL patterns for values that reach generated configs: checked at input, one owner.

Hosts are lowercase DNS names or IPv4 literals; paths are unreserved characters only; no
userinfo, query, quotes, `$`, `;` or spaces.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)"
PORT = r"(?::(?:[1-9][0-9]{0,4}))?"
URL_PATH = r"(?:/[A-Za-z0-9._~%-]*)*"
HTTPS_URL = re.compile(rf"^https://{HOST}{PORT}{URL_PATH}$")


def port_ok(value: str) -> bool:
    """Whether the URL's port, if any, is a TCP port."""
    try:
        port = urlsplit(value).port
    except ValueError:
        return False
    return port is None or 1 <= port <= 65535


def _https_url(value: str) -> str:
    if not (HTTPS_URL.match(value) and port_ok(value)):
        raise ValueError(f"{value!r} must be https://host[:port][/path] (letters, digits, . _ ~ % - in the path)")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]
