"""`fleet build` over synthetic fleets: full (empty cache) vs cached no-op, and how full scales with N.

    .venv/bin/python -m benchmarks.build_scale                    # N = 100 and 1000, all cores
    .venv/bin/python -m benchmarks.build_scale --sizes 30 100     # what a loaded machine allows

For each N a fleet root (this project's code, N synthetic cells) is built twice through the real
CLI in a fresh process: with an empty inventory cache (every cell program runs in the worker
pool), then again with nothing changed (every inventory from the cache). Wall seconds and CPU
seconds (this process and its children, so a shared, loaded machine shows what the work costs)
are reported, with the targets: no-op < 5% of full at the largest N, full(N_max)/full(N_min)
<= 1.1 x N_max/N_min (<= 11 for 100 -> 1,000). The two builds' trees must be byte-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

from tests.support.synthetic import scaffold_repo, write_fleet  # noqa: E402 - after the path set-up


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_build(root: Path, out: Path, workers: int) -> tuple[float, float]:
    """Wall and CPU seconds of one `fleet build` (a fresh process; its workers included)."""
    cpu, began = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "fleet", "build", "--root", str(root), "--out", str(out), "--at", "2026-06-01",
                    "--jobs", str(workers)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    return time.perf_counter() - began, _children_cpu() - cpu


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def measure(size: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cellfleet-build-bench-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        scaffold_repo(root, REPO_ROOT)
        write_fleet(root, size)
        (root / "pipelines" / "rollout.yaml").unlink()  # the packaged default policy: the sample one names sample cells
        full_wall, full_cpu = timed_build(root, Path(tmp) / "full", workers)
        noop_wall, noop_cpu = timed_build(root, Path(tmp) / "noop", workers)
        if tree(Path(tmp) / "full") != tree(Path(tmp) / "noop"):
            raise SystemExit("the cached rebuild must write the same bytes")
    return {"cells": size, "workers": workers, "full_wall": round(full_wall, 2), "full_cpu": round(full_cpu, 2),
            "noop_wall": round(noop_wall, 2), "noop_cpu": round(noop_cpu, 2),
            "noop_over_full_wall": round(noop_wall / full_wall, 4), "noop_over_full_cpu": round(noop_cpu / full_cpu, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    runs = []
    for size in sorted(args.sizes):
        f = measure(size, args.workers)
        runs.append(f)
        print(f"N={size:5d}: full {f['full_wall']:7.1f}s wall {f['full_cpu']:7.1f}s CPU; no-op {f['noop_wall']:5.1f}s wall "
              f"{f['noop_cpu']:5.1f}s CPU = {100 * f['noop_over_full_wall']:.1f}% wall, "
              f"{100 * f['noop_over_full_cpu']:.1f}% CPU of full", flush=True)
    small, large = runs[0], runs[-1]
    if len(runs) > 1:
        linear = large["cells"] / small["cells"]
        print(f"full({large['cells']})/full({small['cells']}): wall {large['full_wall'] / small['full_wall']:.2f}, "
              f"CPU {large['full_cpu'] / small['full_cpu']:.2f} (linear = {linear:.1f}, target <= {1.1 * linear:.1f})")
    print(f"no-op/full at {large['cells']} cells: wall {100 * large['noop_over_full_wall']:.1f}%, "
          f"CPU {100 * large['noop_over_full_cpu']:.1f}% (target < 5%)", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
