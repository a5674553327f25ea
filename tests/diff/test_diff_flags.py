"""`fleet diff` shows flag changes: the stage and percent on the diff's day, who gains or loses the feature.

A four-cell copy of this repository with the sample activation plan committed as the base; each
test edits the plan in the working tree and diffs against HEAD (programs run under Pulumi's mocks).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from fleet.diff import run_diff
from fleet.diff_report import render_json, render_markdown
from fleet.shards import Shard, merge, partial_json
from tests.support.synthetic import commit_all, scaffold_repo

AT = date(2026, 3, 3)  # the sample plan's day 2: its first stage (5%) is live
REPO = Path(__file__).resolve().parents[2]
CELLS = ["_defaults.yaml", "canary-us-internal.yaml", "smb-us-1.yaml", "smb-eu-1.yaml", "enterprise-us-hipaa.yaml"]
FLAG = "flags/newVoiceCodec.yaml"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def edit(path: Path, pattern: str, replacement: str) -> None:
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} not found in {path}"
    path.write_text(text)


@pytest.fixture(scope="module")
def flag_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("flag-repo")
    scaffold_repo(repo, REPO)
    (repo / "cells").mkdir()
    for name in CELLS:
        shutil.copy2(REPO / "cells" / name, repo / "cells" / name)
    shutil.copytree(REPO / "flags", repo / "flags")
    edit(repo / "pipelines/rollout.yaml", r"enterprise-eu-standard, ", "")  # not in this smaller fleet
    commit_all(repo, "base")
    git(repo, "tag", "base")
    return repo


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inventory-cache")


@pytest.fixture
def pr(flag_repo: Path) -> Iterator[Path]:
    """The repository at its base commit; the test's edits (and commits) are undone afterwards."""
    yield flag_repo
    git(flag_repo, "reset", "-q", "--hard", "base")
    git(flag_repo, "clean", "-qfd", "-e", "__pycache__")


def test_stage_percent_and_allowlist_changes_are_shown(pr: Path, cache: Path, tmp_path: Path) -> None:
    edit(pr / FLAG, r"\{day: 2, percent: 5\}", "{day: 2, percent: 10}")
    edit(pr / FLAG, r"- enterprise-customer-123", "- beta-customer-7")
    result = run_diff(pr, "HEAD", cache=cache, jobs=2, at=AT)
    assert not result.stacks  # a plan changes no cell's resources

    markdown = render_markdown(result)
    section = markdown[markdown.index("### Feature flags"):]
    row = next(line for line in section.splitlines() if line.startswith("| `newVoiceCodec`"))
    cols = [c.strip() for c in row.strip("|").split("|")]
    assert cols[1] == "changed"
    assert cols[3] == "5% → 10%"
    assert "2026-03-03 5%" in cols[5] and "2026-03-03 10%" in cols[5]
    assert cols[6] == "beta-customer-7" and cols[7] == "enterprise-customer-123"

    flags = json.loads(render_json(result))["flags"]
    assert [f["key"] for f in flags] == ["newVoiceCodec"]
    assert flags[0]["percent"] == [5, 10]
    assert flags[0]["gaining"] == ["beta-customer-7"] and flags[0]["losing"] == ["enterprise-customer-123"]

    part = tmp_path / "part-1.json"  # a sharded diff carries the flag changes through its merge
    part.write_text(partial_json(result, Shard(1, 1), sorted(result.tiers)), encoding="utf-8")
    merged = merge([part])
    assert merged == result and render_markdown(merged) == markdown


def test_kill_switch_takes_it_from_the_allowlisted_customers(pr: Path, cache: Path) -> None:
    edit(pr / FLAG, r"^  default: \"off\"$", '  default: "off"\n  state: disabled')
    result = run_diff(pr, "HEAD", cache=cache, jobs=2, at=AT)
    (row,) = result.flags
    assert row.state == ("enabled", "disabled") and row.percent == (5, 0)
    assert row.losing == ("enterprise-customer-123",) and not row.gaining
    assert "| `newVoiceCodec` | changed | enabled → disabled | 5% → 0% |" in render_markdown(result)


def test_a_flag_new_at_head_is_added_and_no_change_has_no_section(pr: Path, cache: Path) -> None:
    unchanged = run_diff(pr, "HEAD", cache=cache, jobs=2, at=AT)
    assert unchanged.flags == () and "Feature flags" not in render_markdown(unchanged)
    assert json.loads(render_json(unchanged))["flags"] == []

    git(pr, "rm", "-rq", "flags")
    commit_all(pr, "a base without flags/")
    git(pr, "checkout", "-q", "HEAD~1", "--", "flags")
    (row,) = run_diff(pr, "HEAD", cache=cache, jobs=2, at=AT).flags
    assert row.change == "added" and row.gaining == ("enterprise-customer-123",) and row.percent == (0, 5)


def test_base_flags_that_fail_to_load_are_a_note(pr: Path, cache: Path) -> None:
    edit(pr / FLAG, r"^  key: newVoiceCodec$", "  key: [not, a, key]")
    commit_all(pr, "a broken base plan")
    git(pr, "checkout", "-q", "HEAD~1", "--", FLAG)
    result = run_diff(pr, "HEAD", cache=cache, jobs=2, at=AT)
    assert any(n.startswith("base: feature flags unavailable (flags/newVoiceCodec.yaml:") for n in result.notes)
    assert [r.change for r in result.flags] == ["added"]
