"""Observability at fleet scale: the global dashboard and the fleet composite alarms for 14 to 10,000 cells.

For 100, 1,000 and 10,000 synthetic cells: widgets, alarms and metrics of the global dashboard
(against CloudWatch's 500 widgets, 100 alarms a widget, 2,500 metrics a dashboard), its body
size, the composite alarms per issue type with the longest rule (against 10,240 characters),
and the time to render both.

Run: `.venv/bin/python -m benchmarks.observability_scale [--json]`.
Targets: every quota holds at 10,000 cells; rendering the global view < 5 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from model.jsonio import compact
from observability.alarms import MAX_RULE_CHARS, fleet_composites
from observability.cloudwatch import global_dashboard, limit_problems
from observability.settings import ObservabilitySettings
from observability.views import global_view
from tests.support.synthetic import synthetic_fleet, synthetic_plan

SIZES = (100, 1000, 10_000)


def measure(size: int) -> dict[str, Any]:
    fleet = synthetic_fleet(size)
    plan = synthetic_plan(fleet)
    settings = ObservabilitySettings()
    started = time.perf_counter()
    view = global_view(fleet, plan)
    board = global_dashboard(view, settings)
    composites = fleet_composites(view, settings)
    seconds = time.perf_counter() - started
    widgets = board.body["widgets"]
    return {
        "cells": size,
        "widgets": len(widgets),
        "alarms_max_per_widget": max(len(w["properties"]["alarms"]) for w in widgets if w["type"] == "alarm"),
        "metrics": sum(len(w["properties"].get("metrics", [])) for w in widgets if w["type"] == "metric"),
        "body_bytes": len(compact(board.body)),
        "composites": len(composites),
        "longest_rule": max(len(c.rule) for c in composites),
        "quota_problems": limit_problems(board.body) + [c.name for c in composites if len(c.rule) >= MAX_RULE_CHARS],
        "render_seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="Print the measurements as JSON.")
    args = parser.parse_args()
    rows = [measure(size) for size in SIZES]
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    for row in rows:
        print(f"{row['cells']:>6} cells: {row['widgets']} widgets (max {row['alarms_max_per_widget']} alarms), "
              f"{row['metrics']} metrics, body {row['body_bytes']:,} B; {row['composites']} composites, "
              f"longest rule {row['longest_rule']:,} chars; {row['render_seconds']} s; "
              f"problems: {row['quota_problems'] or 'none'}")


if __name__ == "__main__":
    main()
