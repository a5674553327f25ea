"""Shared constants and helpers for the landing-zone tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Fixed days so results do not depend on when the tests run.
DAY_DEPRECATED = date(2025, 3, 1)  # /v0 deprecated but routed; /v2/Emails not enabled yet
DAY_SUNSET = date(2025, 7, 1)  # /v0 past its sunset (410); /v1/Calls deprecated
UPSTREAM_RULE = "must be http(s)://host[:port] (lowercase host name or IPv4, no path, no quotes, $, ; or spaces)"
