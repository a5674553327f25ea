"""The breaking-change rollout timeline: deploy -> enable -> deprecate -> sunset, per route."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from landing_zone.lifecycle import phase_at
from model.cells import api_version_key
from model.routes import RoutesFile

COLUMNS = ("path", "handler", "deploy", "enable", "deprecate", "sunset", "today")


@dataclass(frozen=True)
class TimelineRow:
    path: str
    handler: str
    deploy: date | None
    enable: date | None
    deprecate: date | None
    sunset: date | None
    phase: str

    def cells(self) -> tuple[str, ...]:
        def show(d: date | None) -> str:
            return d.isoformat() if d else "-"

        dates = (show(self.deploy), show(self.enable), show(self.deprecate), show(self.sunset))
        return (self.path, self.handler, *dates, self.phase)


def timeline_rows(routes: RoutesFile, at: date) -> list[TimelineRow]:
    """One row per route, sorted by service, then path version, then path."""
    rows = []
    for route in routes.config.routes:
        handler = routes.handler(route)
        alias = f" (alias of {route.alias_of})" if route.alias_of else ""
        rows.append(
            TimelineRow(
                path=route.path,
                handler=f"{handler.service.value} {handler.version}{alias}",
                deploy=route.deployed,
                enable=route.introduced,
                deprecate=route.deprecation_date,
                sunset=route.sunset_date,
                phase=phase_at(route, at).value,
            )
        )
    rows.sort(key=lambda r: (r.handler.split()[0], api_version_key(r.path.split("/")[1]), r.path))
    return rows


def render_timeline(rows: list[TimelineRow], at: date) -> str:
    """A plain-text table (the `today` column is the phase on `at`)."""
    header = tuple(c if c != "today" else f"on {at.isoformat()}" for c in COLUMNS)
    table = [header, *(r.cells() for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
