"""`fleet diff` over synthetic fleets: the full diff (every cell re-run) and the cached no-op.

    .venv/bin/python -m benchmarks.diff_scale                    # N = 200 and 1000, all cores
    .venv/bin/python -m benchmarks.diff_scale --sizes 20 100     # quicker

For each N a throw-away repository (this project's code, N synthetic cells) is committed, the
cell module is changed in the work tree (every cell's resources change), then:

* full: `fleet diff --base HEAD` with an empty cache: every cell runs at head and at base (2N programs);
* cached re-diff: the same diff again: every inventory comes from the cache, every cell is diffed;
* no-op: the change committed, so head == base: nothing runs, nothing differs.

Reported: wall seconds, seconds per cell program per core (wall x workers / programs), the
ratio full(N_max)/full(N_min) (linear: N_max/N_min) and no-op/full (target < 5% at 1,000 cells).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

from fleet.diff import run_diff  # noqa: E402 - after the path set-up
from tests.support.synthetic import commit_all, scaffold_repo, write_fleet  # noqa: E402

AT = date(2026, 6, 1)  # the documents' day: explicit, so runs on any date agree


def measure(size: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cellfleet-diff-bench-") as tmp:
        repo, cache = Path(tmp) / "repo", Path(tmp) / "cache"
        repo.mkdir()
        scaffold_repo(repo, REPO_ROOT)
        write_fleet(repo, size)
        commit_all(repo, "base")
        args = repo / "modules" / "cell" / "args.py"
        args.write_text(re.sub(r'^MANAGED_BY = "cellfleet"$', 'MANAGED_BY = "cellfleet-ops"', args.read_text(),
                               flags=re.MULTILINE))

        began = time.perf_counter()
        full = run_diff(repo, "HEAD", cache=cache, jobs=workers, at=AT)
        full_seconds = time.perf_counter() - began
        began = time.perf_counter()
        again = run_diff(repo, "HEAD", cache=cache, jobs=workers, at=AT)
        again_seconds = time.perf_counter() - began
        commit_all(repo, "module change")  # now head == base: nothing changed, everything cached
        began = time.perf_counter()
        noop = run_diff(repo, "HEAD", cache=cache, jobs=workers, at=AT)
        noop_seconds = time.perf_counter() - began
    if len(full.stacks) != size or len(again.stacks) != size or again.ran:
        raise SystemExit("the module change must change every cell, and the second run must be all cached")
    if noop.ran or noop.stacks:
        raise SystemExit("the no-op diff must run nothing and find nothing")
    return {
        "cells": size,
        "workers": workers,
        "full_seconds": round(full_seconds, 2),
        "full_programs": full.ran,
        "seconds_per_program_per_core": round(full_seconds * workers / full.ran, 4),
        "cached_rediff_seconds": round(again_seconds, 2),
        "noop_seconds": round(noop_seconds, 2),
        "noop_over_full": round(noop_seconds / full_seconds, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    runs = []
    for size in sorted(args.sizes):
        figures = measure(size, args.workers)
        runs.append(figures)
        print(
            f"N={size:5d}: full {figures['full_seconds']:8.1f}s ({figures['full_programs']} programs, "
            f"{figures['seconds_per_program_per_core']:.3f} s/program/core); same diff again, cached "
            f"{figures['cached_rediff_seconds']:.2f}s; no-op {figures['noop_seconds']:.2f}s "
            f"= {100 * figures['noop_over_full']:.2f}% of full",
            flush=True,
        )
    small, large = runs[0], runs[-1]
    scale = large["full_seconds"] / small["full_seconds"]
    print(f"full({large['cells']})/full({small['cells']}) = {scale:.2f} (linear = {large['cells'] / small['cells']:.1f})")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "scale": scale}, indent=2) + "\n")


if __name__ == "__main__":
    main()
