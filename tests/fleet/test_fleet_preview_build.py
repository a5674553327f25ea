"""`fleet preview CELL` and `fleet build`, through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.cli import main
from fleet.inputs import load_fleet

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["fleet", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_preview_json_is_the_inventory(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["preview", "enterprise-eu-standard", "--format", "json", "--root", str(REPO_ROOT)]
    code, out, err = run_cli(args, capsys, monkeypatch)
    assert code == 0, err
    document = json.loads(out)
    assert document["stack"] == "enterprise-eu-standard"
    assert document["resource_count"] == len(document["resources"])
    keys = [(r["type"], r["name"]) for r in document["resources"]]
    assert keys == sorted(keys)
    db = next(r for r in document["resources"] if r["type"] == "aws:rds/cluster:Cluster")
    assert db["protect"] is True
    assert db["parent"] == "enterprise-eu-standard"
    assert db["provider"] == "enterprise-eu-standard-aws"
    assert db["properties"]["engine"] == "aurora-mysql"
    assert document["outputs"]["alarm_names"][-1] == "cell-enterprise-eu-standard-health"


def test_preview_table_lists_resources(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table fits the terminal; give it a wide one
    code, out, _ = run_cli(["preview", "canary-us-internal", "--root", str(REPO_ROOT)], capsys, monkeypatch)
    assert code == 0
    assert "canary-us-internal-eks" in out
    assert "cell-canary-us-internal-p99-latency" in out


def test_preview_unknown_cell_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fleet", "preview", "smb-mars-1", "--root", str(REPO_ROOT)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False,
    )
    assert result.returncode == 2
    assert "unknown cell 'smb-mars-1'" in result.stderr
    assert "Traceback" not in result.stderr


def test_preview_bad_fleet_exits_1_with_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    bad = Path(__file__).parent / "bad" / "invalid-region"
    code, out, err = run_cli(["preview", "canary", "--root", str(bad)], capsys, monkeypatch)
    assert code == 1
    assert out == ""
    assert err.splitlines() == (bad / "expected.txt").read_text(encoding="utf-8").splitlines()


def test_build_writes_every_cell_inventory_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "build"
    code, stdout, err = run_cli(["build", "--out", str(out), "--root", str(REPO_ROOT)], capsys, monkeypatch)
    assert code == 0, err
    fleet = load_fleet(REPO_ROOT)
    written = sorted(p.stem for p in (out / "cells").glob("*.json"))
    assert written == sorted(fleet.ids)
    for cell in fleet.cells:
        document = json.loads((out / "cells" / f"{cell.id}.json").read_text(encoding="utf-8"))
        assert document["stack"] == cell.id
        row = next(line for line in err.splitlines() if line.startswith(f"│ {cell.id} "))
        cells = [part.strip() for part in row.split("│")[1:5]]
        assert cells == [cell.id, cell.tier.value, cell.region, str(document["resource_count"])]
    assert stdout == ""
    assert f"cells: {len(fleet.cells)} inventories" in err


def test_preview_out_writes_the_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "preview" / "smb-eu-2.json"
    args = ["preview", "smb-eu-2", "--format", "json", "--out", str(target), "--root", str(REPO_ROOT)]
    code, out, err = run_cli(args, capsys, monkeypatch)
    assert code == 0, err
    assert out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["stack"] == "smb-eu-2"
