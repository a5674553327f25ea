"""Where a cell program's time goes in a `fleet build`/`diff` worker: Pulumi's SDK, ours, the rest (cProfile self time).

    .venv/bin/python -m benchmarks.cell_profile                        # 20 of a 500-cell fleet, this code
    .venv/bin/python -m benchmarks.cell_profile --code /tmp/old-checkout   # the same for another checkout
    .venv/bin/python -m benchmarks.cell_profile --fleet 1000 --cells 40 --top 15

A fleet root of `--fleet` synthetic cells is written; the code's own worker (`fleet/diff_worker.py`,
loaded by path as `fleet diff`/`build` start it) then runs `--cells` of them in this process into
an inventory cache, after a one-cell warm-up (imports) and with the YAML parse cache cleared, as in
a fresh worker; each entry is then turned into its `build/cells/<id>.json` document as the
orchestrator does. So a worker's per-cell share of its start-up work (loading the cells) counts:
a worker's share of a fleet is fleet / (shards x cores). Self time of every function is attributed
by the file it lives in: Pulumi's SDK and providers, gRPC/protobuf, YAML parsing (ruamel: the cell
files), our harness (`fleet/mocking.py`), our worker and cache, our inventory document, our cell
module and model, everything else (asyncio, stdlib, pydantic). Milliseconds per cell of CPU time
(a loaded machine does not inflate it). `--code DIR` profiles the checkout at DIR instead (before/after).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib.util
import io
import pstats
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent
SDK = "pulumi SDK + providers"


def categories(code: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    fleet = code / "fleet"
    return (
        (SDK, ("/pulumi/", "/pulumi_aws/", "/pulumi_kubernetes/", "/pulumi_")),
        ("grpc + protobuf", ("/grpc/", "/google/protobuf/")),
        ("YAML parsing (ruamel: cell files)", ("/ruamel/",)),
        ("ours: mock harness", (str(fleet / "mocking.py"),)),
        ("ours: worker + cache", (str(fleet / "diff_worker.py"), str(fleet / "inventory_cache.py"))),
        ("ours: inventory document", (str(fleet / "inventory.py"),)),
        ("ours: cell module, model, inputs", (str(code / "modules") + "/", str(code / "model") + "/", str(fleet) + "/")),
    )


def category(filename: str, table: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    for name, needles in table:
        if any(needle in filename for needle in needles):
            return name
    return "other (asyncio, stdlib, pydantic)"


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fleet", type=int, default=500, help="cells in the fleet root")
    parser.add_argument("--cells", type=int, default=20, help="cells the worker runs (its share)")
    parser.add_argument("--code", type=Path, default=REPO_ROOT, help="the checkout whose code is profiled")
    parser.add_argument("--top", type=int, default=0, help="also list the N functions of ours with most self time")
    args = parser.parse_args()
    code = args.code.resolve()
    sys.path.insert(0, str(code))  # before anything of ours is imported

    from fleet.inventory import cached_document, to_json
    from fleet.inventory_cache import load_inventory
    from model import yamldoc
    from tests.support.synthetic import scaffold_repo, write_fleet

    harness = str(code / "fleet" / "mocking.py")
    worker = _module(code / "fleet" / "diff_worker.py", "_cellfleet_worker")
    table = categories(code)
    with tempfile.TemporaryDirectory(prefix="cellfleet-profile-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        scaffold_repo(root, code)
        ids = write_fleet(root, args.fleet)
        mine = ids[1: args.cells + 1]

        def run(cells: list[str], cache: Path) -> None:
            """A worker's run, then each entry to its document as `fleet build` does."""
            yamldoc._parse_cached.cache_clear()  # a fresh worker parses every file it loads
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                worker.run_cells(root, cells, harness, cache)
            for line in out.getvalue().splitlines():
                cell, _, entry = line.partition("\t")
                to_json(cached_document(cell, load_inventory(cache, cell, entry)))

        run(ids[:1], Path(tmp) / "warm")  # imports, first-run caches
        began = time.process_time()
        run(mine, Path(tmp) / "plain")
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
        run(mine, Path(tmp) / "profiled")
        main_profile.disable()
        threading.Thread.run = thread_run  # type: ignore[method-assign]
    stats = pstats.Stats(main_profile)
    for profile in profiles:
        stats.add(profile)
    totals: dict[str, float] = defaultdict(float)
    ours: list[tuple[float, str]] = []
    for (filename, line, function), (_cc, _nc, self_time, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        kind = category(filename, table)
        totals[kind] += self_time
        if kind.startswith("ours"):
            ours.append((self_time, f"{Path(filename).name}:{line} {function}"))
    per_cell = 1000 / args.cells
    whole = sum(totals.values())
    print(f"{code}: {args.cells} of a {args.fleet}-cell fleet in one worker: CPU {cpu * per_cell:.0f} ms per cell "
          f"unprofiled; {whole * per_cell:.0f} ms profiled (all threads), split by share:")
    print("| part | share | ms per cell (of the unprofiled CPU) |\n|---|---:|---:|")
    for kind, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {100 * seconds / whole:.1f}% | {cpu * per_cell * seconds / whole:.0f} |")
    for seconds, where in sorted(ours, reverse=True)[: args.top]:
        print(f"  {seconds * per_cell:7.2f} ms  {where}  (self time, profiled)")


if __name__ == "__main__":
    main()
