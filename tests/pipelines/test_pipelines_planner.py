"""The wave planner: every cell once, stable fractional selection spread over regions, located errors."""

from __future__ import annotations

import itertools
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from fleet.inputs import load_fleet, policy_document
from fleet.options import REPO_ROOT
from model.cells import Fleet, Tier
from model.errors import InputErrors
from model.policy import parse_policy
from pipelines.waves import plan_waves, schedule
from tests.support.fleets import wave_plan
from tests.support.synthetic import REGIONS, make_cell, synthetic_fleet, synthetic_plan


def plan_for(fleet: Fleet, policy_yaml: str | None = None, root: Path | None = None):  # type: ignore[no-untyped-def]
    if policy_yaml is not None:
        assert root is not None
        (root / "pipelines").mkdir(parents=True, exist_ok=True)
        (root / "pipelines" / "rollout.yaml").write_text(textwrap.dedent(policy_yaml), encoding="utf-8")
        doc = policy_document(root)
        return plan_waves(fleet, parse_policy(doc), doc)
    return synthetic_plan(fleet)


def test_sample_fleet_plan_follows_the_seed() -> None:
    fleet = load_fleet(REPO_ROOT)
    plan = wave_plan(REPO_ROOT)
    assert [w.name for w in plan.waves] == ["canary", "smb-wave-1", "smb-wave-2", "enterprise"]
    assert plan.waves[0].cells == ("canary-us-internal",)
    smb = [c.id for c in fleet.by_tier(Tier.SMB)]
    assert len(plan.waves[1].cells) == 3  # ceil(25% of 10)
    assert sorted(plan.waves[1].cells + plan.waves[2].cells) == sorted(smb)
    # enterprise order: explicit ids first, then the glob's remainder
    assert plan.waves[3].cells[:2] == ("enterprise-us-hipaa", "enterprise-eu-standard")
    assert plan.waves[3].policy.one_at_a_time
    assert plan.waves[3].policy.approval


@pytest.mark.parametrize("size", [10, 100, 1000])
def test_every_cell_in_exactly_one_wave(size: int) -> None:
    fleet = synthetic_fleet(size)
    plan = plan_for(fleet)
    counts = Counter(plan.cell_order)
    assert set(counts) == set(fleet.ids)
    assert set(counts.values()) == {1}


def test_fraction_is_stable_when_a_cell_is_added() -> None:
    fleet = synthetic_fleet(200)
    before = plan_for(fleet).waves[1].cells
    extra = make_cell("smb-us-east-1-99999", Tier.SMB, "us-east-1", 99999)
    bigger = Fleet(cells=tuple(sorted((*fleet.cells, extra), key=lambda c: c.id)))
    after = plan_for(bigger).waves[1].cells
    # Adding a cell may add one to the wave, never reshuffles: the old picks are still picked.
    kept = [c for c in after if c in before]
    assert len(kept) >= len(before) - 1
    assert set(before) - set(after) <= {before[-1]}


def test_fraction_spreads_across_regions() -> None:
    fleet = synthetic_fleet(600)
    wave = plan_for(fleet).waves[1]
    per_region = Counter(fleet.cell(c).region for c in wave.cells)
    assert set(per_region) == set(REGIONS)
    assert max(per_region.values()) - min(per_region.values()) <= 1


def test_schedule_accumulates_bake_times() -> None:
    plan = wave_plan(REPO_ROOT)
    rows = schedule(plan)
    assert rows[0].earliest_start.total_seconds() == 0
    for before, after in itertools.pairwise(rows):
        assert after.earliest_start == before.earliest_end
        assert after.latest_start == before.latest_end
    assert all(r.earliest_end <= r.latest_end for r in rows)
    enterprise = rows[-1]
    assert enterprise.latest_end - enterprise.latest_start >= 3 * plan.waves[-1].policy.bake.max


SMALL = synthetic_fleet(20)


def errors_of(tmp_path: Path, policy_yaml: str, fleet: Fleet = SMALL) -> list[str]:
    with pytest.raises(InputErrors) as caught:
        plan_for(fleet, policy_yaml, tmp_path)
    return [str(e) for e in caught.value.errors]


def test_first_wave_must_be_canary(tmp_path: Path) -> None:
    assert errors_of(tmp_path, """\
        waves:
          - name: smb
            select: {tier: smb}
            bake: {min: 1h, max: 2h}
          - name: rest
            select: {tier: canary}
            bake: {min: 1h, max: 2h}
          - name: ent
            select: {tier: enterprise}
            bake: {min: 1h, max: 2h}
        """) == ["pipelines/rollout.yaml:3: waves[0].select: the first wave must deploy the canary cell(s)"]


def test_empty_wave(tmp_path: Path) -> None:
    assert errors_of(tmp_path, """\
        waves:
          - name: canary
            select: {tier: canary}
            bake: {min: 1h, max: 2h}
          - name: all-smb
            select: {tier: smb}
            bake: {min: 1h, max: 2h}
          - name: smb-again
            select: {tier: smb}
            bake: {min: 1h, max: 2h}
          - name: ent
            select: {tier: enterprise}
            bake: {min: 1h, max: 2h}
        """) == ["pipelines/rollout.yaml:9: waves[2].select: wave 'smb-again' selects no cells"]


def test_explicit_cell_in_two_waves(tmp_path: Path) -> None:
    ent = next(c.id for c in SMALL.cells if c.tier is Tier.ENTERPRISE)
    assert errors_of(tmp_path, f"""\
        waves:
          - name: canary
            select: {{tier: canary}}
            bake: {{min: 1h, max: 2h}}
          - name: first-ent
            select: {{cells: [{ent}]}}
            bake: {{min: 1h, max: 2h}}
          - name: smb
            select: {{tier: smb}}
            bake: {{min: 1h, max: 2h}}
          - name: ent
            select: {{cells: ["{ent}", "ent-*"]}}
            bake: {{min: 1h, max: 2h}}
        """) == [f"pipelines/rollout.yaml:12: waves[3].select.cells[0]: cell '{ent}' is already in wave 'first-ent'"]


def test_fraction_out_of_range(tmp_path: Path) -> None:
    assert errors_of(tmp_path, """\
        waves:
          - name: canary
            select: {tier: canary}
            bake: {min: 1h, max: 2h}
          - name: smb
            select:
              tier: smb
              fraction: 1.5
            bake: {min: 1h, max: 2h}
        """) == ["pipelines/rollout.yaml:8: waves[1].select.fraction: Input should be less than or equal to 1"]


def test_unknown_cell(tmp_path: Path) -> None:
    assert errors_of(tmp_path, """\
        waves:
          - name: canary
            select: {tier: canary}
            bake: {min: 1h, max: 2h}
          - name: rest
            select: {tier: smb}
            bake: {min: 1h, max: 2h}
          - name: ent
            select:
              cells:
                - ent-nowhere-1
                - "ent-*"
            bake: {min: 1h, max: 2h}
        """) == ["pipelines/rollout.yaml:11: waves[2].select.cells[0]: unknown cell 'ent-nowhere-1'"]


def test_cells_left_out(tmp_path: Path) -> None:
    assert errors_of(tmp_path, """\
        waves:
          - name: canary
            select: {tier: canary}
            bake: {min: 1h, max: 2h}
          - name: smb
            select: {tier: smb}
            bake: {min: 1h, max: 2h}
        """)[0].startswith("pipelines/rollout.yaml:1: waves: cells in no wave: ent-")
