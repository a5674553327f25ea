"""The four gateway targets: one renderer per target, from the same edge plan."""

from __future__ import annotations

from collections.abc import Callable

from landing_zone.lifecycle import EdgePlan
from landing_zone.render_aws import render_aws
from landing_zone.render_envoy import render_envoy
from landing_zone.render_kong import render_kong
from landing_zone.render_nginx import render_nginx

RENDERERS: dict[str, tuple[str, Callable[[EdgePlan], str]]] = {
    "aws": ("aws-openapi.json", render_aws),
    "envoy": ("envoy-routes.json", render_envoy),
    "kong": ("kong.yaml", render_kong),
    "nginx": ("nginx.conf", render_nginx),
}


def render_all(plan: EdgePlan) -> dict[str, str]:
    """Every target's file for the plan: file name -> text."""
    return {name: render(plan) for name, render in RENDERERS.values()}
