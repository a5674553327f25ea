"""Preview N synthetic cells offline under Pulumi's mocks: time per cell and memory, 1 and 2 processes.

    .venv/bin/python -m benchmarks.preview_cells                 # N = 100 and 1000, 1 and 2 workers
    .venv/bin/python -m benchmarks.preview_cells --sizes 20 200  # quicker
    .venv/bin/python -m benchmarks.preview_cells --json out.json

For each N a synthetic fleet (`fleet.synthetic`: 1 canary per 1,000, 10% enterprise, the rest SMB,
across 6 regions) is written to a temporary fleet root and validated with the real loader. Every run happens in a
fresh spawned process, so peak RSS (`ru_maxrss`) is that run's own. Reported:

* seconds for the first cell (imports, warm-up) and mean seconds per cell after it;
* wall time for all N cells in one process, and split over W processes;
* ratio time(N_max)/time(N_min) (target <= 11 for 100 -> 1000: linear);
* peak RSS per worker, RSS after the first cell vs. at the end (target <= 1.5x from 100 to 1000).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

from tests.support.synthetic import write_fleet  # noqa: E402 - after the path set-up


def _rss_mb() -> float:
    """Current resident set size (Linux /proc), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def preview_worker(root: str, cell_ids: list[str]) -> dict[str, Any]:
    """Run in a fresh process: preview each cell; per-cell seconds, resource counts and memory."""
    from fleet.inputs import load_fleet
    from fleet.mocking import new_event_loop
    from fleet.preview import preview_cell

    started = time.perf_counter()
    fleet = load_fleet(Path(root))
    load_seconds = time.perf_counter() - started
    seconds = []
    resources = 0
    rss_after_first = 0.0
    for index, cell_id in enumerate(cell_ids):
        new_event_loop()
        began = time.perf_counter()
        resources += len(preview_cell(fleet.cell(cell_id)).resources)
        seconds.append(time.perf_counter() - began)
        if index == 0:
            rss_after_first = _rss_mb()
    return {
        "cells": len(cell_ids),
        "load_seconds": load_seconds,
        "seconds": seconds,
        "resources": resources,
        "rss_after_first_mb": rss_after_first,
        "rss_end_mb": _rss_mb(),
        "peak_rss_mb": _peak_mb(),
    }


def run(root: Path, ids: list[str], workers: int) -> dict[str, Any]:
    """Preview `ids` split round-robin over `workers` fresh processes; wall time and per-worker stats."""
    context = multiprocessing.get_context("spawn")
    shares = [ids[w::workers] for w in range(workers)]
    began = time.perf_counter()
    with context.Pool(workers) as pool:
        results = pool.starmap(preview_worker, [(str(root), share) for share in shares])
    wall = time.perf_counter() - began
    after_first = [s for r in results for s in r["seconds"][1:]]
    return {
        "workers": workers,
        "cells": len(ids),
        "wall_seconds": wall,
        "first_cell_seconds": max(r["seconds"][0] for r in results),
        "per_cell_after_first": sum(after_first) / max(1, len(after_first)),
        "program_seconds": sum(sum(r["seconds"]) for r in results),
        "resources": sum(r["resources"] for r in results),
        "peak_rss_mb": [round(r["peak_rss_mb"], 1) for r in results],
        "rss_after_first_mb": [round(r["rss_after_first_mb"], 1) for r in results],
        "rss_end_mb": [round(r["rss_end_mb"], 1) for r in results],
        "load_seconds": max(r["load_seconds"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel run (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    report: dict[str, Any] = {"runs": []}
    for size in sorted(args.sizes):
        with tempfile.TemporaryDirectory(prefix="cellfleet-bench-") as tmp:
            ids = write_fleet(Path(tmp), size)
            for workers in sorted({1, args.workers}):
                figures = run(Path(tmp), ids, workers)
                report["runs"].append(figures)
                print(
                    f"N={size:5d} workers={workers}: wall {figures['wall_seconds']:7.1f}s, "
                    f"first cell {figures['first_cell_seconds']:.2f}s, "
                    f"{figures['per_cell_after_first'] * 1000:.0f} ms/cell after the first, "
                    f"{figures['resources']} resources, peak RSS/worker {figures['peak_rss_mb']} MiB "
                    f"(after first cell {figures['rss_after_first_mb']}, end {figures['rss_end_mb']})",
                    flush=True,
                )
    small, large = min(args.sizes), max(args.sizes)
    if small != large:
        for workers in sorted({1, args.workers}):
            a = next(r for r in report["runs"] if r["cells"] == small and r["workers"] == workers)
            b = next(r for r in report["runs"] if r["cells"] == large and r["workers"] == workers)
            ratio = b["wall_seconds"] / a["wall_seconds"]
            program_ratio = b["program_seconds"] / a["program_seconds"]
            memory = max(b["peak_rss_mb"]) / max(a["peak_rss_mb"])
            report[f"workers_{workers}"] = {"time_ratio": ratio, "program_time_ratio": program_ratio, "memory_ratio": memory}
            print(
                f"workers={workers}: time({large})/time({small}) = {ratio:.2f} wall, {program_ratio:.2f} in programs "
                f"(linear = {large / small:.0f}); peak memory ratio {memory:.2f}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
