"""`fleet diff` over synthetic fleets: the full diff (every cell re-run) and the cached no-op.

    .venv/bin/python -m benchmarks.diff_scale                    # N = 200 and 1000, all cores
    .venv/bin/python -m benchmarks.diff_scale --sizes 20 100     # quicker
    .venv/bin/python -m benchmarks.diff_scale --shards 1 2 4 --sizes 1000   # sharded, one after another

For each N a throw-away repository (this project's code, N synthetic cells) is committed, the
cell module is changed in the work tree (every cell's resources change), then:

* full: `fleet diff --base HEAD` with an empty cache: every cell runs at head and at base (2N programs);
* cached re-diff: the same diff again: every inventory comes from the cache, every cell is diffed;
* no-op: the change committed, so head == base: nothing runs, nothing differs.

Reported: wall seconds, seconds per cell program per core (wall x workers / programs), the
ratio full(N_max)/full(N_min) (linear: N_max/N_min) and no-op/full (target < 5% at 1,000 cells).

With `--shards`: the same module change diffed unsharded, then as N shards (`fleet diff --shard
K/N`) run one after another, each with its own empty cache as on its own CI runner; every shard's
wall and CPU time against total/N (target: within 1.2x), and the merged Markdown and JSON against
the unsharded ones (must be byte-identical).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

from fleet.diff import run_diff  # noqa: E402 - after the path set-up
from fleet.diff_report import render_json, render_markdown  # noqa: E402
from fleet.shards import Shard, merge, partial_json, run_shard  # noqa: E402
from tests.support.synthetic import commit_all, scaffold_repo, write_fleet  # noqa: E402

AT = date(2026, 6, 1)  # the documents' day: explicit, so runs on any date agree
TARGET = 1.2  # every shard within 1.2 x total/N


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _changed_repo(tmp: Path, size: int) -> Path:
    """N synthetic cells committed, then the cell module changed in the work tree."""
    repo = tmp / "repo"
    repo.mkdir()
    scaffold_repo(repo, REPO_ROOT)
    write_fleet(repo, size)
    (repo / "pipelines" / "rollout.yaml").unlink()  # the packaged default policy: the sample one names sample cells
    commit_all(repo, "base")
    args = repo / "modules" / "cell" / "args.py"
    args.write_text(re.sub(r'^MANAGED_BY = "cellfleet"$', 'MANAGED_BY = "cellfleet-ops"', args.read_text(),
                           flags=re.MULTILINE))
    return repo


def measure_shards(size: int, workers: int, counts: list[int]) -> dict[str, Any]:
    """The unsharded diff, then each N's shards one after another (fresh caches); times and byte equality."""
    with tempfile.TemporaryDirectory(prefix="cellfleet-shard-bench-") as tmp:
        repo = _changed_repo(Path(tmp), size)
        cpu, began = _cpu(), time.perf_counter()
        whole = run_diff(repo, "HEAD", cache=Path(tmp) / "cache-whole", jobs=workers, at=AT)
        total_wall, total_cpu = time.perf_counter() - began, _cpu() - cpu
        expected = (render_markdown(whole), render_json(whole))
        runs = []
        for count in counts:
            shards: list[dict[str, Any]] = []
            parts: list[Path] = []
            for index in range(1, count + 1):
                shard = Shard(index, count)
                cpu, began = _cpu(), time.perf_counter()
                result, cells = run_shard(repo, "HEAD", None, shard, cache=Path(tmp) / f"cache-{count}-{index}",
                                          jobs=workers, at=AT)
                shards.append({"shard": str(shard), "cells": len(cells), "ran": result.ran,
                               "wall": round(time.perf_counter() - began, 2), "cpu": round(_cpu() - cpu, 2)})
                part = Path(tmp) / f"part-{count}-{index}.json"
                part.write_text(partial_json(result, shard, cells), encoding="utf-8")
                parts.append(part)
            merged = merge(parts)
            identical = (render_markdown(merged), render_json(merged)) == expected
            runs.append({
                "shards": count, "per_shard": shards, "identical": identical,
                "max_wall_over_total_per_n": round(max(s["wall"] for s in shards) / (total_wall / count), 3),
                "max_cpu_over_total_per_n": round(max(s["cpu"] for s in shards) / (total_cpu / count), 3),
            })
    return {"cells": size, "workers": workers, "unsharded_wall": round(total_wall, 2),
            "unsharded_cpu": round(total_cpu, 2), "runs": runs}


def shards_main(sizes: list[int], workers: int, counts: list[int], out: Path | None) -> None:
    results = []
    for size in sorted(sizes):
        figures = measure_shards(size, workers, counts)
        results.append(figures)
        print(f"N={size}: unsharded {figures['unsharded_wall']:.1f}s wall, {figures['unsharded_cpu']:.1f}s CPU", flush=True)
        for run in figures["runs"]:
            times = ", ".join(f"{s['shard']}: {s['cells']} cells {s['wall']:.1f}s/{s['cpu']:.1f}s CPU"
                              for s in run["per_shard"])
            verdict = "within" if run["max_cpu_over_total_per_n"] <= TARGET else "OVER"
            print(f"  {run['shards']} shards: {times}; max shard / (total/N): wall {run['max_wall_over_total_per_n']:.2f}, "
                  f"CPU {run['max_cpu_over_total_per_n']:.2f} ({verdict} {TARGET} by CPU); "
                  f"merged == unsharded: {run['identical']}", flush=True)
    if out:
        out.write_text(json.dumps({"shards": results}, indent=2) + "\n")
    if not all(run["identical"] for figures in results for run in figures["runs"]):
        raise SystemExit("a merged result differs from the unsharded diff")


def measure(size: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cellfleet-diff-bench-") as tmp:
        repo, cache = _changed_repo(Path(tmp), size), Path(tmp) / "cache"

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
    parser.add_argument("--shards", type=int, nargs="+", help="measure sharded diffs with these N instead")
    args = parser.parse_args()
    if args.shards:
        shards_main(args.sizes, args.workers, args.shards, args.json)
        return
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
