"""nginx.conf as data: crossplane parses it back, crafted values cannot add directives, gixy-ng passes, nginx -t accepts it."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import crossplane
import pytest

from landing_zone.lifecycle import EdgePlan, compile_edge
from landing_zone.render_nginx import NginxOptions, render_nginx
from model.routes import RoutesFile
from tests.landing_zone.lz_support import DAY_SUNSET
from tests.support.servers import nginx_binary
from tests.support.tools import tool_command

CRAFTED = "http://x; } server { listen 9999; location / { proxy_pass http://evil; } } #"
# proxy_pass_normalized: prefix locations map onto the handler path, which nginx decodes first;
# render_nginx refuses %2F, %5C and %2E in the request URI before any location, so it cannot climb.
GIXY_SKIPS = ["proxy_pass_normalized"]
# Behind a TLS terminator (--plain-http) TLS settings and HSTS are the terminator's job.
PLAIN_SKIPS = [*GIXY_SKIPS, "weak_ssl_tls", "hsts_header"]


def parsed(conf: str, folder: Path) -> list[dict[str, Any]]:
    path = folder / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    payload = crossplane.parse(str(path), single=True, check_ctx=True, check_args=True)
    assert payload["status"] == "ok", payload["errors"]
    return list(payload["config"][0]["parsed"])


def walk(block: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for stmt in block:
        out.append(stmt)
        out += walk(stmt.get("block") or [])
    return out


def crafted_plan(sample_routes: RoutesFile, url: str) -> EdgePlan:
    """A plan whose upstream URL skipped input validation (what the review's attack produced)."""
    plan = compile_edge(sample_routes, DAY_SUNSET)
    return replace(plan, routes=tuple(replace(r, upstream_url=url) for r in plan.routes))


def test_config_round_trips_through_crossplane(sample_routes: RoutesFile, tmp_path: Path) -> None:
    plan = compile_edge(sample_routes, DAY_SUNSET)
    statements = walk(parsed(render_nginx(plan), tmp_path))
    servers = [s for s in statements if s["directive"] == "server"]
    assert len(servers) == 1
    passes = sorted(s["args"][0] for s in statements if s["directive"] == "proxy_pass")
    assert passes == sorted(u for r in plan.exposed if r.action.value == "route" for u in (r.backend_url, r.backend_url + "/"))
    assert ["on"] in [s["args"] for s in statements if s["directive"] == "proxy_ssl_verify"]


def test_crafted_upstream_stays_one_argument(sample_routes: RoutesFile, tmp_path: Path) -> None:
    statements = walk(parsed(render_nginx(crafted_plan(sample_routes, CRAFTED)), tmp_path))
    assert len([s for s in statements if s["directive"] == "server"]) == 1
    assert not any(s["args"] == ["9999"] for s in statements if s["directive"] == "listen")
    passes = [s["args"] for s in statements if s["directive"] == "proxy_pass"]
    assert passes
    assert all(len(args) == 1 and args[0].startswith(CRAFTED) for args in passes)
    check = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", "nginx.conf", "-e", "/dev/null"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert check.returncode != 0  # the quoted URL is one (invalid) proxy_pass target, not a new server
    assert "host not found in upstream \"x; } server { listen 9999;" in check.stderr  # the whole value is one host


@pytest.mark.parametrize("url", ["http://x$request_uri", "http://x\\;", "http://x\n}"])
def test_values_nginx_would_expand_are_refused_at_render_time(sample_routes: RoutesFile, url: str) -> None:
    with pytest.raises(ValueError, match=r"cannot go into nginx\.conf"):
        render_nginx(crafted_plan(sample_routes, url))


@pytest.mark.parametrize("plain_http", [False, True])
def test_nginx_accepts_the_rendered_config(sample_routes: RoutesFile, tmp_path: Path, plain_http: bool) -> None:
    from tests.landing_zone.tls_support import make_pki

    pki = make_pki(tmp_path / "pki")
    options = NginxOptions(
        plain_http=plain_http, certificate=str(pki.cert_file), certificate_key=str(pki.key_file), upstream_ca=str(pki.ca_file)
    )
    (tmp_path / "api-keys.d").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "temp").mkdir()
    plan = compile_edge(sample_routes, DAY_SUNSET, {"cell_router": "https://127.0.0.1:9"})  # nginx -t resolves hosts
    (tmp_path / "nginx.conf").write_text(render_nginx(plan, options), encoding="utf-8")
    check = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", "nginx.conf", "-e", "logs/error.log"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(("plain_http", "skips"), [(False, GIXY_SKIPS), (True, PLAIN_SKIPS)])
def test_gixy_finds_nothing(sample_routes: RoutesFile, tmp_path: Path, plain_http: bool, skips: list[str]) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx(compile_edge(sample_routes, DAY_SUNSET), NginxOptions(plain_http=plain_http)), encoding="utf-8")
    result = subprocess.run(
        [str(tool_command("gixy")), "--skips", ",".join(skips), "--disable-includes", str(conf)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Total issues" in result.stdout
