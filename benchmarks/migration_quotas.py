"""The migration orchestrator against every Step Functions quota, at 10, 300 and 10,000 cells.

The sample migration (`2025-01-15-recipient-id-column`, its globs rewritten for synthetic ids) on
synthetic fleets (1 canary per 1,000, 10 % enterprise, the rest SMB; the packaged default policy).
Every figure is `migrations.quotas.measure` of the documents `fleet migrate start` would send: the
definition (quota 1 MB), the execution input naming the step objects (256 KiB), the largest
state (the run's, a lane's, a batch child's), history events of the run, the largest lane and the
largest batch child (25,000 each; Distributed Map children keep their own histories), the inline
Maps' concurrency (40), and the run's and the longest batch child's duration (one year) from the
lane schedule (lanes overlap, as the machine runs them). The duration row says which step of the
manifest drives it.

A figure passes at most half its quota. Run: `.venv/bin/python -m benchmarks.migration_quotas [--json]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from migrations.orchestrator import definition, plan_document
from migrations.quotas import QUOTAS
from migrations.quotas import measure as measure_plan
from tests.migrations.synthetic import synthetic_migration

SIZES = (10, 300, 10_000)


def measure(size: int) -> dict[str, Any]:
    plan = synthetic_migration(Path(tempfile.mkdtemp(prefix="cellfleet-quotas-")), size)
    return measure_plan(plan, plan_document(plan), definition(plan))


def verdicts(row: dict[str, Any]) -> list[tuple[str, Any, int, bool]]:
    return [(label, row[key], quota, row[key] <= quota / 2) for key, (label, quota) in QUOTAS.items()]


def table(rows: list[dict[str, Any]]) -> str:
    head = ["quota", *(f"{r['cells']:,} cells" for r in rows), "limit (pass: ≤ half)"]
    lines = [head, ["---"] * len(head)]
    for n, (label, quota) in enumerate(QUOTAS.values()):
        cells = []
        for r in rows:
            value, ok = verdicts(r)[n][1], verdicts(r)[n][3]
            cells.append(f"{value:,} {'ok' if ok else 'FAILS'}")
        lines.append([label, *cells, f"{quota:,}"])
    lines.append(["duration driven by", *(r["driven_by"] for r in rows), ""])
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="fleet sizes (comma-separated)")
    args = parser.parse_args()
    rows = [measure(int(s)) for s in args.sizes.split(",") if s]
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    failing = [f"{r['cells']:,} cells: {label} {value:,} > half of {quota:,}"
               for r in rows for label, value, quota, ok in verdicts(r) if not ok]
    for line in failing:
        print(f"FAILS {line}", file=sys.stderr)
    print("every quota at most half used" if not failing else f"{len(failing)} figure(s) over half a quota",
          file=sys.stderr)
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
