"""`fleet build` on the diff's engine: worker processes, the content-hash cache, the same bytes as in-process."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fleet.build
from fleet.cli import main
from fleet.inputs import load_fleet
from fleet.inventory import inventory_document, to_json
from fleet.preview import preview_cell
from tests.support.synthetic import scaffold_repo

REPO = Path(__file__).resolve().parents[2]
CELLS = ["_defaults.yaml", "canary-us-internal.yaml", "smb-us-1.yaml", "smb-eu-1.yaml",
         "enterprise-us-hipaa.yaml"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fleet root with sample cells in every wave (and the project's code)."""
    repo = tmp_path_factory.mktemp("build-root")
    scaffold_repo(repo, REPO)
    (repo / "cells").mkdir()
    for name in CELLS:
        shutil.copy2(REPO / "cells" / name, repo / "cells" / name)
    policy = repo / "pipelines/rollout.yaml"
    policy.write_text(re.sub(r"enterprise-eu-standard, ", "", policy.read_text(), count=1))
    return repo


def build(root: Path, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
          *extra: str) -> str:
    monkeypatch.setattr(sys, "argv", ["fleet", "build", "--root", str(root), "--out", str(out), "--at", "2026-06-01",
                                      "--jobs", "2", *extra])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0
    return capsys.readouterr().err


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_rebuild_with_nothing_changed_runs_no_worker(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first = build(root, tmp_path / "a", capsys, monkeypatch)
    assert "ran 4 cell programs, 0 from cache" in first
    assert (root / ".fleet-cache" / "inventories").is_dir()

    def no_worker(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a worker ran: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_worker)
    monkeypatch.setattr(fleet.build, "render_documents", no_worker)  # the documents too: from the build record
    monkeypatch.setattr(fleet.build, "load_inputs", no_worker)
    monkeypatch.setattr(fleet.build, "cached_document", no_worker)  # and each cell's document beside its entry
    second = build(root, tmp_path / "b", capsys, monkeypatch)
    assert "ran 0 cell programs, 4 from cache" in second
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_a_changed_input_is_checked_and_rendered_again(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    build(root, tmp_path / "a", capsys, monkeypatch)
    policy = root / "pipelines/rollout.yaml"
    before = policy.read_text()
    try:
        policy.write_text(before.replace("bake: {min: 30m, max: 1h}", "bake: {min: 45m, max: 1h}", 1))
        changed = build(root, tmp_path / "b", capsys, monkeypatch)
        assert "ran 0 cell programs, 4 from cache" in changed  # no cell program reads the rollout policy
        pipeline = [p for p in tree(tmp_path / "a") if p.startswith("pipeline/")]
        assert pipeline and any(tree(tmp_path / "a")[p] != tree(tmp_path / "b")[p] for p in pipeline)
        policy.write_text(before.replace("bake: {min: 30m, max: 1h}", "bake: {min: 30m, max: 1", 1))
        monkeypatch.setattr(sys, "argv", ["fleet", "build", "--root", str(root), "--out", str(tmp_path / "c")])
        with pytest.raises(SystemExit) as bad:
            main()
        assert bad.value.code == 1 and "pipelines/rollout.yaml:" in capsys.readouterr().err
    finally:
        policy.write_text(before)


def test_worker_inventories_are_the_in_process_bytes(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "build"
    err = build(root, out, capsys, monkeypatch, "--no-cache", "--cache-dir", str(tmp_path / "unused"))
    assert "ran 4 cell programs" in err and not (tmp_path / "unused").exists()
    for cell in load_fleet(root).cells:
        expected = to_json(inventory_document(preview_cell(cell)))
        assert (out / "cells" / f"{cell.id}.json").read_text(encoding="utf-8") == expected
