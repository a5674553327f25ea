"""`fleet diff` on throw-away git repositories: which cells a change affects, and how.

Each test starts from the committed base of a small copy of this repository (code and
five cells), edits the working tree like a pull request would, and diffs against HEAD.
The stack programs run for real under Pulumi's mocks in worker processes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from fleet.diff import DiffResult, run_diff
from fleet.diff_report import render_json, render_markdown
from tests.support.golden import assert_golden
from tests.support.synthetic import commit_all, scaffold_repo

AT = date(2026, 6, 1)  # the documents' day: explicit, so runs on any date agree

REPO = Path(__file__).resolve().parents[2]
CELLS = ["_defaults.yaml", "canary-us-internal.yaml", "smb-us-1.yaml", "smb-eu-1.yaml", "enterprise-us-hipaa.yaml"]
ALL = {"canary-us-internal", "smb-us-1", "smb-eu-1", "enterprise-us-hipaa"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def fleet_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("fleet-repo")
    scaffold_repo(repo, REPO)
    (repo / "cells").mkdir()
    for name in CELLS:
        shutil.copy2(REPO / "cells" / name, repo / "cells" / name)
    # The sample policy names enterprise-eu-standard explicitly; this smaller fleet does not have it.
    edit(repo / "pipelines/rollout.yaml", r"enterprise-eu-standard, ", "")
    commit_all(repo, "base")
    return repo


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inventory-cache")


@pytest.fixture
def pr(fleet_repo: Path) -> Iterator[Path]:
    """The repository at its base commit; whatever the test edits is undone afterwards."""
    git(fleet_repo, "checkout", "-q", "--", ".")
    git(fleet_repo, "clean", "-qfd", "-e", "__pycache__")
    yield fleet_repo
    git(fleet_repo, "checkout", "-q", "--", ".")
    git(fleet_repo, "clean", "-qfd", "-e", "__pycache__")


def edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text()
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} not found in {path}"
    path.write_text(new)


def diff(repo: Path, cache: Path | None) -> DiffResult:
    return run_diff(repo, "HEAD", cache=cache, jobs=2, at=AT)


def changed(result: DiffResult) -> set[str]:
    return {s.stack for s in result.stacks}


def test_no_change_is_no_diff_and_second_run_is_all_cached(pr: Path, cache: Path) -> None:
    first = diff(pr, cache)
    assert changed(first) == set() and first.documents == ()
    again = diff(pr, cache)
    assert again.ran == 0 and again.cached == 2 * len(ALL)
    assert "**No change**" in render_markdown(again)


def test_one_cell_file_affects_only_that_cell(pr: Path, cache: Path) -> None:
    diff(pr, cache)  # warm the cache at the base, as CI's restored cache would be
    edit(pr / "cells/smb-us-1.yaml", r"^tier: smb$", "tier: smb\nsize: large")
    result = diff(pr, cache)
    assert result.affected_stacks == ("smb-us-1",)
    assert result.ran == 1  # only the edited cell at head; everything else from the cache
    only = result.stacks[0]
    assert {c.type for c in only.changes} >= {"aws:eks/nodeGroup:NodeGroup"}
    assert all(c.kind in {"update", "replace"} for c in only.changes)
    assert json.loads(render_json(result))["matrix"] == {"stack": ["smb-us-1"]}
    assert_golden("diff/one-cell.md", render_markdown(result))


def test_module_code_affects_every_cell(pr: Path, cache: Path) -> None:
    diff(pr, cache)
    edit(pr / "modules/cell/args.py", r'^MANAGED_BY = "cellfleet"$', 'MANAGED_BY = "cellfleet-platform"')
    result = diff(pr, cache)
    assert changed(result) == ALL
    assert result.ran == len(ALL)  # every cell re-run at head
    for stack in result.stacks:
        provider = next(c for c in stack.changes if c.type == "pulumi:providers:aws")
        # provider inputs travel as JSON strings, so the new tag sits inside the defaultTags value
        assert any("cellfleet-platform" in json.dumps(p.new) for p in provider.properties)


def test_rollout_policy_changes_the_pipeline_and_no_cell(pr: Path, cache: Path) -> None:
    diff(pr, cache)
    edit(pr / "pipelines/rollout.yaml", r"bake: \{min: 30m, max: 1h\}", "bake: {min: 45m, max: 1h}")
    result = diff(pr, cache)
    assert result.stacks == ()
    assert result.ran == 0
    assert result.documents, "the pipeline definition should change"
    assert {d.path.split("/", 1)[0] for d in result.documents} == {"pipeline"}
    assert result.affected_stacks == ("control-plane",)


def test_renaming_a_resource_shows_a_replacement(pr: Path, cache: Path) -> None:
    edit(pr / "modules/cell/observability.py", r'f"\{name\}-paging"', 'f"{name}-pager"')
    result = diff(pr, cache)
    assert changed(result) == ALL
    for stack in result.stacks:
        renamed = [c for c in stack.changes if c.kind == "replace" and "renamed" in c.note]
        assert [c.type for c in renamed] == ["aws:sns/topic:Topic"], stack.changes
        assert renamed[0].name == f"{stack.stack}-paging" and f"{stack.stack}-pager" in renamed[0].note


def test_protected_enterprise_database_change_is_flagged(pr: Path, cache: Path) -> None:
    edit(pr / "cells/enterprise-us-hipaa.yaml", r"^tier: enterprise$",
         'tier: enterprise\ndatabase:\n  engine: aurora-mysql\n  engine_version: "3.08.0"')
    result = diff(pr, cache)
    assert result.affected_stacks == ("enterprise-us-hipaa",)
    hits = result.stacks[0].protected_hits
    cluster = next(c for c in hits if c.type == "aws:rds/cluster:Cluster")
    assert cluster.kind == "replace"
    assert any(p.path == "engine" and p.forces_replacement for p in cluster.properties)
    markdown = render_markdown(result)
    assert "[!CAUTION]" in markdown
    assert json.loads(render_json(result))["cells"]["enterprise-us-hipaa"]["protected"]
    assert_golden("diff/protected-database.md", markdown)


EDITS: dict[str, Callable[[Path], None]] = {
    "tier defaults": lambda r: edit(r / "cells/_defaults.yaml", r"^  size: medium$", "  size: large"),
    "module code": lambda r: edit(r / "modules/cell/args.py", r'^MANAGED_BY = "cellfleet"$', 'MANAGED_BY = "ops"'),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_the_cache_never_hides_a_change(pr: Path, cache: Path, name: str) -> None:
    EDITS[name](pr)
    cached = diff(pr, cache)
    fresh = diff(pr, None)
    assert fresh.ran == 2 * len(ALL)
    assert render_json(cached) == render_json(fresh)
    assert cached.stacks, "every edit here changes at least one cell"


def test_cli_writes_json_matrix_and_exits_zero(pr: Path, cache: Path, tmp_path: Path) -> None:
    edit(pr / "cells/smb-eu-1.yaml", r"^tier: smb$", "tier: smb\nsize: large")
    out = tmp_path / "diff.json"
    done = subprocess.run(
        [sys.executable, "-m", "fleet", "diff", "--root", str(pr), "--base", "HEAD", "--format", "json",
         "--out", str(out), "--cache-dir", str(cache)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["affected_stacks"] == ["smb-eu-1"]
    assert "1 of 4 cells change" in done.stderr


def test_unknown_base_is_a_clear_error(pr: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "fleet", "diff", "--root", str(pr), "--base", "no-such-ref"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "unknown revision 'no-such-ref'" in done.stderr and "Traceback" not in done.stderr
