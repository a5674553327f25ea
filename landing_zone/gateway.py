"""The four gateway targets and the build step that writes them all under `build/gateway/`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from fleet.build import BuildStep, StepResult
from fleet.model import Fleet
from landing_zone.lifecycle import Action, EdgePlan, compile_edge
from landing_zone.readiness import declared_support, gate
from landing_zone.render_aws import render_aws
from landing_zone.render_envoy import render_envoy
from landing_zone.render_kong import render_kong
from landing_zone.render_nginx import render_nginx
from landing_zone.routes import load_routes

RENDERERS: dict[str, tuple[str, Callable[[EdgePlan], str]]] = {
    "aws": ("aws-openapi.json", render_aws),
    "envoy": ("envoy-routes.json", render_envoy),
    "kong": ("kong.yaml", render_kong),
    "nginx": ("nginx.conf", render_nginx),
}
BUILD_DIR = "gateway"


def today() -> date:
    return datetime.now(UTC).date()


def render_all(plan: EdgePlan) -> dict[str, str]:
    """Every target's file for the plan: relative file name -> text."""
    return {name: render(plan) for name, render in RENDERERS.values()}


def gateway_step(at: date | None = None) -> BuildStep:
    """Build step: gate the routes config on the fleet's declared versions, then render every target."""

    def run(fleet: Fleet) -> StepResult:
        routes = load_routes(fleet.root)
        plan = compile_edge(routes, at or today())
        gate(routes, plan, declared_support(fleet), fleet.ids)
        files = {f"{BUILD_DIR}/{name}": text for name, text in render_all(plan).items()}
        counts = {a: sum(1 for r in plan.routes if r.action is a) for a in Action}
        summary = [
            f"edge on {plan.at.isoformat()}: {counts[Action.ROUTE]} routed, {counts[Action.GONE]} gone (410), "
            f"{counts[Action.NONE]} not routed; targets: {', '.join(sorted(RENDERERS))}"
        ]
        return StepResult(files=files, summary=summary)

    return BuildStep(name="gateway", run=run)
