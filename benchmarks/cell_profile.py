"""Where a cell program's time goes under Pulumi's mocks: the SDK, ours, the rest (cProfile self time).

    .venv/bin/python -m benchmarks.cell_profile               # 10 cells after 1 warm-up, one process
    .venv/bin/python -m benchmarks.cell_profile --cells 20 --top 15

Each cell is run as `fleet build`'s workers run it: the stack program under `fleet.mocking`, then
its inventory document (`fleet.inventory`). Self time of every function is attributed by the
file it lives in: Pulumi's SDK and providers (`pulumi*`), gRPC/protobuf, our harness
(`fleet/mocking.py`), our inventory (`fleet/inventory.py`), our cell module and model
(`modules/`, `model/`, rest of `fleet/`), and everything else (asyncio, stdlib, pydantic).
Reported in milliseconds per cell (CPU time, so a loaded machine does not inflate it).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

CATEGORIES = (
    ("pulumi SDK + providers", ("/pulumi/", "/pulumi_aws/", "/pulumi_kubernetes/", "/pulumi_")),
    ("grpc + protobuf", ("/grpc/", "/google/protobuf/")),
    ("ours: mock harness", (str(REPO_ROOT / "fleet" / "mocking.py"),)),
    ("ours: inventory", (str(REPO_ROOT / "fleet" / "inventory.py"),)),
    ("ours: cell module, model", (str(REPO_ROOT / "modules") + "/", str(REPO_ROOT / "model") + "/",
                                  str(REPO_ROOT / "fleet") + "/")),
)


def category(filename: str) -> str:
    for name, needles in CATEGORIES:
        if any(needle in filename for needle in needles):
            return name
    return "other (asyncio, stdlib, pydantic)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=10)
    parser.add_argument("--top", type=int, default=0, help="also list the N functions of ours with most self time")
    args = parser.parse_args()

    from fleet.inventory import inventory_document, to_json
    from fleet.preview import preview_cell
    from tests.support.synthetic import synthetic_cells

    cells = synthetic_cells(args.cells + 1)
    to_json(inventory_document(preview_cell(cells[0])))  # warm-up: imports, first-run caches
    began = time.process_time()
    for cell in cells[1:]:
        to_json(inventory_document(preview_cell(cell)))
    cpu = time.process_time() - began  # unprofiled: the real cost

    profiles: list[cProfile.Profile] = []
    thread_run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:  # the mock monitor answers on executor threads
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()
        try:
            thread_run(thread)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign,assignment]
    main_profile = cProfile.Profile(time.thread_time)
    main_profile.enable()
    for cell in cells[1:]:
        to_json(inventory_document(preview_cell(cell)))
    main_profile.disable()
    threading.Thread.run = thread_run  # type: ignore[method-assign]
    stats = pstats.Stats(main_profile)
    for profile in profiles:
        stats.add(profile)
    totals: dict[str, float] = defaultdict(float)
    ours: list[tuple[float, str]] = []
    for (filename, line, function), (_cc, _nc, self_time, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        kind = category(filename)
        totals[kind] += self_time
        if kind.startswith("ours"):
            ours.append((self_time, f"{Path(filename).relative_to(REPO_ROOT)}:{line} {function}"))
    per_cell = 1000 / args.cells
    whole = sum(totals.values())
    print(f"{args.cells} cells: CPU {cpu * per_cell:.0f} ms per cell unprofiled; "
          f"{whole * per_cell:.0f} ms profiled (all threads), split by share:")
    print("| part | share | ms per cell (of the unprofiled CPU) |\n|---|---:|---:|")
    for kind, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {100 * seconds / whole:.1f}% | {cpu * per_cell * seconds / whole:.0f} |")
    for seconds, where in sorted(ours, reverse=True)[: args.top]:
        print(f"  {seconds * per_cell:7.2f} ms  {where}  (self time, profiled)")
    for seconds, where in sorted(sdk_from_harness(stats), reverse=True)[: args.top]:
        print(f"  {100 * seconds / whole:5.1f}%  harness -> SDK: {where}  (cumulative)")


def sdk_from_harness(stats: pstats.Stats) -> list[tuple[float, str]]:
    """SDK functions our harness calls itself (besides the mock monitor it extends), with their cumulative time."""
    harness = str(REPO_ROOT / "fleet" / "mocking.py")
    out = []
    for (filename, line, function), (_cc, _nc, _tt, _ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if category(filename) != CATEGORIES[0][0]:
            continue
        from_harness = sum(ct for (caller_file, _l, _f), (_a, _b, _c, ct) in callers.items() if caller_file == harness)
        if from_harness and function not in {"RegisterResource", "run_pulumi_func", "_sync_await"}:
            out.append((from_harness, f"{Path(filename).name}:{line} {function}"))
    return out


if __name__ == "__main__":
    main()
