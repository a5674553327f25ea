"""Readiness gate: a version may be routed only when every cell serves it.

What each cell serves comes from the cells' declared versions (`cells/*.yaml`) or from the
control-plane registry in DynamoDB (one item per `cell_id`, attribute `versions`: a map of
service -> list of API versions, as the cell stacks write it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from landing_zone.lifecycle import Action, EdgePlan
from model.cells import Fleet, Product, api_version_key
from model.errors import InputError, InputErrors
from model.routes import RoutesFile

# cell id -> service -> API versions the cell serves
Support = Mapping[str, Mapping[str, tuple[str, ...]]]


def declared_support(fleet: Fleet) -> dict[str, dict[str, tuple[str, ...]]]:
    """What each cell of the fleet declares it runs."""
    return {c.id: {p.value: s.api_versions for p, s in c.services.items()} for c in fleet.cells}


@dataclass(frozen=True)
class Readiness:
    """How many cells serve one service version, and which do not."""

    service: Product
    version: str
    ready: tuple[str, ...]
    lagging: tuple[str, ...]

    @property
    def all_ready(self) -> bool:
        return not self.lagging


def readiness(support: Support, service: Product, version: str, cells: tuple[str, ...] = ()) -> Readiness:
    """Split the cells (those in `support`, plus `cells` that may be missing from it) by readiness."""
    everyone = sorted(set(support) | set(cells))
    ready = tuple(c for c in everyone if version in support.get(c, {}).get(service.value, ()))
    return Readiness(service, version, ready, tuple(c for c in everyone if c not in ready))


def status_table(routes: RoutesFile, support: Support, cells: tuple[str, ...] = ()) -> list[Readiness]:
    """Readiness of every service version the routes config names, sorted by service and version."""
    handlers = {(h.service, h.version) for h in map(routes.handler, routes.config.routes)}
    wanted = sorted(handlers, key=lambda k: (k[0].value, api_version_key(k[1])))
    return [readiness(support, s, v, cells) for s, v in wanted]


def gate(routes: RoutesFile, plan: EdgePlan, support: Support, cells: tuple[str, ...] = (), source: str = "cells") -> None:
    """Raise InputErrors for each routed route whose version some cell does not serve."""
    errors: list[InputError] = []
    index = {r.path: i for i, r in enumerate(routes.config.routes)}
    for route in plan.routes:
        if route.action is not Action.ROUTE:
            continue
        state = readiness(support, route.service, route.version, cells)
        if state.all_ready:
            continue
        i = index[route.path]
        errors.append(
            InputError(
                routes.shown,
                routes.status_lines[i],
                f"routes[{i}].status",
                f"{route.path} is {route.phase.value} but {route.service.value} {route.version} is not served by "
                f"{len(state.lagging)} of {len(state.ready) + len(state.lagging)} cells ({source}): {', '.join(state.lagging)}",
            )
        )
    if errors:
        raise InputErrors(errors)
