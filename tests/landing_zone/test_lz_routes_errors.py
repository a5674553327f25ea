"""Bad routes configs: every problem reported as an exact `path:line: field: message` line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.files import load_document
from model.errors import InputErrors
from model.routes import parse_routes
from tests.landing_zone.lz_support import UPSTREAM_RULE

# Lines 1-11; a case appends more routes from line 12 on, or replaces a line.
BASE = """\
upstreams:
  cell_router: https://router.example
defaults:
  rate_limit: {rate: 10, burst: 5}
  documentation: https://docs.example/versions
routes:
  - path: /v1/Messages
    service: sms
    version: v1
    status: active
    backend: ${cell_router}/sms/v1/messages
"""


def route(path: str, *lines: str) -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return f"  - path: {path}\n{body}"


V2 = ("service: sms", "version: v2", "status: active", "backend: ${cell_router}/sms/v2/messages")


CASES: list[tuple[str, str, list[str]]] = [
    ("unknown key", BASE + route("/v2/Messages", *V2, "colour: red"), ["routes.yaml:17: routes[1].colour: unknown key"]),
    (
        "status not in the enum",
        BASE.replace("status: active", "status: enabled"),
        ["routes.yaml:10: routes[0].status: Input should be 'active', 'deprecated' or 'disabled'"],
    ),
    (
        "unknown service",
        BASE.replace("service: sms", "service: fax"),
        ["routes.yaml:8: routes[0].service: Input should be 'sms', 'voice', 'video', 'whatsapp' or 'email'"],
    ),
    (
        "date that is not a date",
        BASE + "    introduced: last tuesday\n",
        ["routes.yaml:12: routes[0].introduced: Input should be a valid date or datetime, invalid character in year"],
    ),
    (
        "path without a version segment",
        BASE.replace("path: /v1/Messages", "path: /Messages"),
        [
            "routes.yaml:7: routes[0].path: '/Messages' must look like /v1/Messages: a version segment, "
            "then segments of letters, digits, . _ ~ -"
        ],
    ),
    (
        "path with a trailing slash",
        BASE.replace("path: /v1/Messages", "path: /v1/Messages/"),
        [
            "routes.yaml:7: routes[0].path: '/v1/Messages/' must look like /v1/Messages: a version segment, "
            "then segments of letters, digits, . _ ~ -"
        ],
    ),
    (
        "path version differs from the handler version",
        BASE + route("/v2/Messages", "service: sms", "version: v1", "status: active", "backend: ${cell_router}/sms/v1/m"),
        ["routes.yaml:14: routes[1].version: path version v2 differs from handler version v1; use alias_of"],
    ),
    (
        "backend not behind an upstream",
        BASE.replace("backend: ${cell_router}/sms/v1/messages", "backend: https://sms.example/v1"),
        ["routes.yaml:11: routes[0].backend: 'https://sms.example/v1' must look like ${cell_router}/sms/v1/messages"],
    ),
    (
        "backend names an unknown upstream",
        BASE.replace("${cell_router}", "${router}"),
        ["routes.yaml:11: routes[0].backend: unknown upstream ${router}; define it under upstreams"],
    ),
    (
        "deprecation after sunset",
        BASE.replace("status: active", "status: deprecated")
        + "    deprecation_date: 2025-06-01\n    sunset_date: 2025-01-01\n",
        ["routes.yaml:13: routes[0].sunset_date: 2025-01-01 is before deprecation_date 2025-06-01"],
    ),
    (
        "introduced after deprecation",
        BASE + "    introduced: 2025-02-01\n    deprecation_date: 2025-01-01\n",
        ["routes.yaml:13: routes[0].deprecation_date: 2025-01-01 is before introduced 2025-02-01"],
    ),
    (
        "deprecated without a deprecation date",
        BASE.replace("status: active", "status: deprecated"),
        ["routes.yaml:7: routes[0].deprecation_date: required when status is deprecated"],
    ),
    (
        "sunset without deprecation",
        BASE + "    sunset_date: 2026-01-01\n",
        ["routes.yaml:7: routes[0].deprecation_date: required when sunset_date is set (deprecate before sunset)"],
    ),
    (
        "duplicate path",
        BASE + route("/v1/Messages", "service: sms", "version: v1", "status: active", "backend: ${cell_router}/sms/v1/x"),
        ["routes.yaml:12: routes[1].path: duplicate path, also routes[0]"],
    ),
    (
        "paths differing only in case",
        BASE + route("/v1/messages", "service: sms", "version: v1", "status: active", "backend: ${cell_router}/sms/v1/x"),
        ["routes.yaml:12: routes[1].path: ambiguous: differs from /v1/Messages only in letter case"],
    ),
    (
        "nested path",
        BASE + route("/v1/Messages/Media", "service: sms", "version: v1", "status: active", "backend: ${cell_router}/m"),
        ["routes.yaml:12: routes[1].path: ambiguous: nested under routes[0] /v1/Messages"],
    ),
    (
        "alias of a missing route",
        BASE + route("/v0/Messages", "alias_of: /v9/Messages", "status: active"),
        ["routes.yaml:13: routes[1].alias_of: no route with path /v9/Messages"],
    ),
    (
        "alias of an alias",
        BASE
        + route("/v0/Messages", "alias_of: /v1/Messages", "status: active")
        + route("/v00/Messages", "alias_of: /v0/Messages", "status: active"),
        [
            "routes.yaml:15: routes[2].path: '/v00/Messages' must look like /v1/Messages: a version segment, "
            "then segments of letters, digits, . _ ~ -",
            "routes.yaml:16: routes[2].alias_of: /v0/Messages is itself an alias; point at its handler route",
        ],
    ),
    (
        "alias that also names a backend",
        BASE + route("/v0/Messages", "alias_of: /v1/Messages", "status: active", "backend: ${cell_router}/sms/v0"),
        ["routes.yaml:15: routes[1].backend: an alias takes its backend from the route it aliases (/v1/Messages)"],
    ),
    (
        "route without handler or alias",
        BASE + route("/v2/Messages", "status: active"),
        [
            "routes.yaml:12: routes[1].backend: required key is missing (or set alias_of)",
            "routes.yaml:12: routes[1].service: required key is missing (or set alias_of)",
            "routes.yaml:12: routes[1].version: required key is missing (or set alias_of)",
        ],
    ),
    (
        "hand-written lifecycle headers (the seed's example)",
        BASE + "    response_headers:\n      Deprecation: 'true'\n",
        ["routes.yaml:12: routes[0].response_headers: computed from deprecation_date and sunset_date; remove it"],
    ),
    (
        "missing status",
        BASE.replace("    status: active\n", ""),
        ["routes.yaml:7: routes[0].status: required key is missing"],
    ),
    (
        "deprecated without any documentation link",
        BASE.replace("  documentation: https://docs.example/versions\n", "").replace("status: active", "status: deprecated")
        + "    deprecation_date: 2025-01-01\n",
        [
            "routes.yaml:6: routes[0].documentation: required for a deprecated route (the Link header); "
            "or set defaults.documentation"
        ],
    ),
    (
        "documentation not https",
        BASE.replace("https://docs.example/versions", "http://docs.example/versions"),
        [
            "routes.yaml:5: defaults.documentation: 'http://docs.example/versions' must be "
            "https://host[:port][/path] (letters, digits, . _ ~ % - in the path)"
        ],
    ),
    (
        "upstream with a path",
        BASE.replace("https://router.example", "https://router.example/api"),
        ["routes.yaml:2: upstreams.cell_router: 'https://router.example/api' " + UPSTREAM_RULE],
    ),
    # The review's crafted values: each would have ended a directive or a block in nginx.conf.
    *[
        (
            f"upstream injection {i}",
            BASE.replace("https://router.example", crafted),
            [f"routes.yaml:2: upstreams.cell_router: {shown} " + UPSTREAM_RULE],
        )
        for i, (crafted, shown) in enumerate(
            [
                ("'http://x; } server { listen 9; location / { proxy_pass http://evil; }'",
                 "'http://x; } server { listen 9; location / { proxy_pass http://evil; }'"),
                ("'http://router.example$request_uri'", "'http://router.example$request_uri'"),
                ("'http://router example'", "'http://router example'"),
                ("'http://user@router.example'", "'http://user@router.example'"),
                ("'http://router.example:0'", "'http://router.example:0'"),
                ("'http://router.example:70000'", "'http://router.example:70000'"),
                ("'http://Router.Example'", "'http://Router.Example'"),
            ]
        )
    ],
    (
        "documentation injection",
        BASE.replace("https://docs.example/versions", "'https://docs.example/v\"; add_header X 1;'"),
        [
            "routes.yaml:5: defaults.documentation: 'https://docs.example/v\"; add_header X 1;' must be "
            "https://host[:port][/path] (letters, digits, . _ ~ % - in the path)"
        ],
    ),
    (
        "api key header the edge sets itself",
        BASE.replace("defaults:\n", "defaults:\n  api_keys: {header: X-Account-Id}\n"),
        ["routes.yaml:4: defaults.api_keys.header: 'X-Account-Id' is a header the edge sets itself"],
    ),
    (
        "rate limit of zero",
        BASE.replace("rate: 10", "rate: 0"),
        ["routes.yaml:4: defaults.rate_limit.rate: Input should be greater than or equal to 1"],
    ),
    (
        "empty routes",
        BASE.split("routes:", maxsplit=1)[0] + "routes: []\n",
        ["routes.yaml:6: routes: at least one route is required"],
    ),
    ("not a mapping", "- just\n- a list\n", ["routes.yaml:1: (file): expected a mapping at the top level"]),
    (
        "invalid YAML",
        BASE + "  - path: [unclosed\n",
        ["routes.yaml:13: (file): invalid YAML: expected ',' or ']', but got '<stream end>'"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_routes_config_is_reported_with_file_and_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        parse_routes(load_document(path, tmp_path))
    assert [str(e) for e in caught.value.errors] == sorted(expected)


def test_there_are_at_least_fifteen_bad_input_cases() -> None:
    assert len(CASES) >= 15


def test_base_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert [r.path for r in parse_routes(load_document(path, tmp_path)).config.routes] == ["/v1/Messages"]
