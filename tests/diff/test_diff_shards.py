"""`fleet diff --shard K/N` and `fleet diff merge`: a stable, complete split whose merge is the unsharded diff.

The merge test diffs a module change over a four-cell copy of this repository (programs run for
real under Pulumi's mocks in worker processes); the assignment tests are pure.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

from fleet.balance import assign, cell_costs, documents_cost
from fleet.cli import main
from fleet.diff import run_diff
from fleet.diff_report import render_json, render_markdown
from fleet.shards import Shard, merge, parse_shard, partial_json, run_shard, shares
from tests.support.synthetic import commit_all, scaffold_repo, synthetic_cells

AT = date(2026, 6, 1)
REPO = Path(__file__).resolve().parents[2]
CELLS = ["_defaults.yaml", "canary-us-internal.yaml", "smb-us-1.yaml", "smb-eu-1.yaml", "enterprise-us-hipaa.yaml"]


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.MULTILINE)
    assert count == 1, pattern
    path.write_text(text)


def test_assignment_is_complete_balanced_and_stable() -> None:
    cells = synthetic_cells(200)
    tiers = {c.id: c.tier.value for c in cells}
    base = [c.id for c in cells[:190]] + ["gone-1", "gone-2"]  # 10 added at head, 2 removed
    costs = cell_costs(tiers, base)
    for count in (1, 2, 3, 4, 7):
        shards = assign(costs, count)
        flat = [cell for shard in shards for cell in shard]
        assert sorted(flat) == sorted(costs) and len(flat) == len(set(flat))  # every cell in exactly one shard
        loads = [sum(costs[c] for c in shard) for shard in shards]
        assert max(loads) - min(loads) <= max(costs.values())  # greedy: within one cell's cost
        reordered = dict(sorted(costs.items(), reverse=True))  # the order cells are listed in does not matter
        assert assign(reordered, count) == shards
    assert costs["gone-1"] < costs[cells[0].id] * 2 and costs[cells[-1].id] < costs[cells[0].id]


def test_shard_one_has_the_documents_so_fewer_cells_and_loads_stay_even() -> None:
    cells = synthetic_cells(400)
    tiers = {c.id: c.tier.value for c in cells}
    base = list(tiers)
    costs = cell_costs(tiers, base)
    documents = documents_cost(len(tiers)) + documents_cost(len(base))
    for count in (2, 4):
        split = shares(tiers, base, count)
        assert sorted(c for shard in split for c in shard) == sorted(tiers)
        loads = [sum(costs[c] for c in shard) + (documents if i == 0 else 0) for i, shard in enumerate(split)]
        assert len(split[0]) < min(len(shard) for shard in split[1:])  # it renders both revisions' documents
        assert max(loads) - min(loads) <= max(costs.values())
    assert shares(tiers, base, 2) == shares(dict(reversed(list(tiers.items()))), list(reversed(base)), 2)


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", "-1/2", "1/2/3", ""])
def test_bad_shard_values_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"shard|K/N"):
        parse_shard(text)


@pytest.mark.parametrize("text", ["0/2", "3/2", "two", "1/0"])
def test_bad_shard_is_a_usage_error(text: str, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["fleet", "diff", "--root", str(REPO), "--base", "HEAD", "--shard", text])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "--shard" in capsys.readouterr().err


@pytest.fixture(scope="module")
def changed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four cells committed, then the cell module changed in the work tree (every cell changes)."""
    repo = tmp_path_factory.mktemp("shard-repo")
    scaffold_repo(repo, REPO)
    (repo / "cells").mkdir()
    for name in CELLS:
        shutil.copy2(REPO / "cells" / name, repo / "cells" / name)
    _edit(repo / "pipelines/rollout.yaml", r"enterprise-eu-standard, ", "")
    commit_all(repo, "base")
    _edit(repo / "modules/cell/args.py", r'^MANAGED_BY = "cellfleet"$', 'MANAGED_BY = "cellfleet-ops"')
    _edit(repo / "pipelines/rollout.yaml", r"bake: \{min: 30m, max: 1h\}", "bake: {min: 45m, max: 1h}")
    return repo


def test_merged_shards_equal_the_unsharded_diff(changed_repo: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    whole = run_diff(changed_repo, "HEAD", cache=cache, jobs=2, at=AT)
    assert len(whole.stacks) == 4 and whole.documents  # the module and the pipeline both changed
    for count in (2, 3):
        paths, covered = [], []
        for index in range(1, count + 1):
            result, cells = run_shard(changed_repo, "HEAD", None, Shard(index, count), cache=cache, jobs=2, at=AT)
            assert result.ran == 0  # served from the unsharded run's cache
            assert bool(result.documents) is (index == 1)  # documents are diffed once, by shard 1
            covered += cells
            path = tmp_path / f"part-{index}-of-{count}.json"
            path.write_text(partial_json(result, Shard(index, count), cells), encoding="utf-8")
            paths.append(path)
        assert sorted(covered) == sorted(whole.tiers)
        merged = merge(list(reversed(paths)))
        assert render_markdown(merged) == render_markdown(whole)
        assert render_json(merged) == render_json(whole)

    monkeypatch.setattr(sys, "argv", ["fleet", "diff", "merge", *map(str, paths), "--format", "json"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0
    assert json.loads(capsys.readouterr().out)["affected_stacks"] == list(whole.affected_stacks)
    monkeypatch.setattr(sys, "argv", ["fleet", "diff", "merge", str(paths[0]), str(paths[2])])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 1
    assert f"{paths[0]}:1: shard: missing shards 2/3" in capsys.readouterr().err
