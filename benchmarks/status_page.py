"""The status page at fleet scale: assembling the model, rendering, and loading the page in headless Chromium.

    .venv/bin/python -m benchmarks.status_page                  # 100 and 1,000 cells
    .venv/bin/python -m benchmarks.status_page --sizes 1000 5000

Per size: model (`fleet_status`), render (HTML + JSON), page bytes, Chromium load (navigation to
`load`, then first layout; wall seconds), and filtering by a cell id (input event to the rows re-shown).
Target: a 1,000-cell page renders (model + render) and loads in under a second each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright

from statuspage.assemble import fleet_status
from statuspage.render import status_files
from tests.support.synthetic import synthetic_fleet, synthetic_plan
from tests.support.tools import system_command

AT = datetime(2026, 6, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; model/render: CPU seconds of this process")
    print(f"{'cells':>7} {'model s':>8} {'render s':>9} {'page KiB':>9} {'load s':>7} {'filter s':>9}")
    with sync_playwright() as driver, tempfile.TemporaryDirectory() as tmp:
        browser = driver.chromium.launch(executable_path=system_command("chromium"), headless=True, args=["--no-sandbox"])
        for size in args.sizes:
            fleet = synthetic_fleet(size)
            plan = synthetic_plan(fleet)
            started = time.process_time()
            status = fleet_status(fleet, plan, AT)
            modelled = time.process_time()
            files = status_files(status)
            rendered = time.process_time()
            path = Path(tmp) / f"status-{size}.html"
            path.write_text(files["index.html"], encoding="utf-8")
            page = browser.new_page()
            loading = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            page.evaluate("() => document.body.getBoundingClientRect().height")
            loaded = time.perf_counter()
            page.fill("#cell-filter", fleet.ids[size // 2])
            page.wait_for_function("() => document.getElementById('filter-count').textContent !== ''")
            filtered = time.perf_counter()
            page.close()
            print(f"{size:>7} {modelled - started:>8.3f} {rendered - modelled:>9.3f} "
                  f"{len(files['index.html'].encode()) / 1024:>9.0f} {loaded - loading:>7.3f} {filtered - loaded:>9.3f}")
        browser.close()


if __name__ == "__main__":
    main()
