"""`fleet gitops status` and the GitOps part of `fleet build`, through the real CLI."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fleet.cli import main

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def fleet(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the CLI's entry point in-process (as `fleet ...`), with its exit code and output."""
    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["fleet", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)
    return run


def test_status_lists_the_release_of_every_cell(fleet, sample_inputs: object) -> None:  # type: ignore[no-untyped-def]
    result = fleet("gitops", "status", "--format", "json", "--root", str(REPO))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    fleet_ = sample_inputs.fleet  # type: ignore[attr-defined]
    plan = sample_inputs.plan  # type: ignore[attr-defined]
    assert [r["cell_id"] for r in rows] == list(fleet_.ids)
    for row in rows:
        cell = fleet_.cell(row["cell_id"])
        assert row["services"] == {p.value: s.release for p, s in cell.services.items()}
        assert row["wave"] == plan.wave_of(cell.id).name
        assert row["application"] == f"cell-{cell.id}"
    table = fleet("gitops", "status", "--root", str(REPO))
    assert table.returncode == 0
    assert "canary-us-internal" in table.stdout and "release-2.4.0" in table.stdout


def test_status_reads_a_folder_of_applications_and_reports_bad_ones(  # type: ignore[no-untyped-def]
    fleet, tmp_path: Path, sample_tree: dict[str, str]
) -> None:
    folder = tmp_path / "applications"
    folder.mkdir()
    app = yaml.safe_load(sample_tree["argocd/applications/smb-eu-1.yaml"])
    app["metadata"]["labels"]["cellfleet.io/release"] = "2.5.0"
    (folder / "smb-eu-1.yaml").write_text(yaml.safe_dump(app), encoding="utf-8")
    result = fleet("gitops", "status", "--format", "json", "--applications", str(folder))
    assert result.returncode == 0, result.stderr
    assert [(r["cell_id"], r["release"]) for r in json.loads(result.stdout)] == [("smb-eu-1", "2.5.0")]
    del app["metadata"]["labels"]["cellfleet.io/wave"]
    (folder / "smb-eu-1.yaml").write_text(yaml.safe_dump(app), encoding="utf-8")
    (folder / "other.yaml").write_text("kind: ConfigMap\nmetadata: {name: x}\n", encoding="utf-8")
    bad = fleet("gitops", "status", "--applications", str(folder))
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 2, bad.stderr
    assert lines[0].endswith("other.yaml:1: kind: expected an Argo CD Application")
    assert "smb-eu-1.yaml:" in lines[1] and "metadata.labels: missing label(s) cellfleet.io/wave" in lines[1]
    assert "Traceback" not in bad.stderr
    missing = fleet("gitops", "status", "--applications", str(tmp_path / "nope"))
    assert missing.returncode in {1, 2} and "Traceback" not in missing.stderr
