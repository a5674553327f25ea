"""checkov (own tool env, tools/checkov.txt) on the rendered OpenAPI document: no failed check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from landing_zone.lifecycle import compile_edge
from landing_zone.render_aws import render_aws
from model.routes import RoutesFile
from tests.landing_zone.lz_support import DAY_SUNSET
from tests.support.tools import tool_command

# CKV_OPENAPI_5 (operation security not empty): sunset paths are gateway `mock` 410s that answer
# anyone, as on every target; they reach no backend and carry no data.
SKIPS = ["CKV_OPENAPI_5"]


def test_checkov_passes_the_openapi_document(sample_routes: RoutesFile, tmp_path: Path) -> None:
    document = tmp_path / "aws-openapi.json"
    document.write_text(render_aws(compile_edge(sample_routes, DAY_SUNSET)), encoding="utf-8")
    result = subprocess.run(
        [str(tool_command("checkov")), "-f", str(document), "--framework", "openapi", "--output", "json", "--skip-download",
         "--skip-check", ",".join(SKIPS)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert summary["passed"] >= 4
    assert result.returncode == 0
