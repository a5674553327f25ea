"""The PR view of flag changes, and the capability's purity."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import tests.model.test_layers as layers
from activation.diff import flag_changes, render_flag_changes
from activation.gate import declared_releases, gate
from activation.render import render_flags
from activation.views import explain, status_rows
from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT
from tests.flags.flags_support import BETA, REPO, SAMPLE, fleet_with_flag, sample_flags

BEFORE = (REPO / "flags" / f"{SAMPLE}.yaml").read_text(encoding="utf-8")


def test_flag_changes_show_stage_percent_and_who_gains_or_loses(tmp_path: Path) -> None:
    before = sample_flags()
    after_text = (BEFORE.replace("    - enterprise-customer-123\n", "    - beta-2\n")
                  .replace("{day: 3, percent: 25}", "{day: 3, percent: 50}"))
    after = sample_flags(fleet_with_flag(tmp_path, SAMPLE, after_text))
    day = date(2026, 3, 4)
    (row,) = flag_changes(before, after, day)
    assert row.change == "changed"
    assert row.percent == (25, 50)
    assert row.gaining == ("beta-2",)
    assert row.losing == (BETA,)
    assert row.schedule[1] == "2026-03-03 5%, 2026-03-04 50%, 2026-03-08 100%"
    text = render_flag_changes([row], day)
    assert f"| `{SAMPLE}` | changed | enabled | 25% → 50% |" in text
    assert flag_changes(before, before, day) == []
    assert render_flag_changes([], day) == ""


def test_killing_a_flag_loses_it_for_the_allowlist_and_adding_one_shows(tmp_path: Path) -> None:
    killed = sample_flags(fleet_with_flag(tmp_path, SAMPLE, BEFORE.replace("  default:", "  state: disabled\n  default:")))
    (row,) = flag_changes(sample_flags(), killed, date(2026, 3, 8))
    assert (row.state, row.percent, row.losing) == (("enabled", "disabled"), (100, 0), (BETA,))
    (added,) = flag_changes([], sample_flags(), date(2026, 3, 8))
    assert (added.change, added.gaining) == ("added", (BETA,))


def test_activation_renders_without_files_clock_or_environment() -> None:
    flags = sample_flags()
    fleet = load_fleet(REPO)
    releases = declared_releases(fleet)
    guarded = (*layers.PRODUCT, str(REPO_ROOT / "activation") + "/")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layers, "PRODUCT", guarded)
        with layers.no_io():
            for day in (None, date(2026, 3, 4)):
                assert render_flags(flags, day)
                gate(flags, releases, day)
            assert status_rows(flags, releases, date(2026, 3, 4))
            assert explain(flags[0], BETA, fleet.cell("smb-eu-1"), date(2026, 3, 4)).variant == "on"
            assert flag_changes([], flags, date(2026, 3, 4))
        with layers.no_io(), pytest.raises(layers._Forbidden):
            exec(compile("open('Pulumi.yaml')", str(REPO_ROOT / "activation" / "render.py"), "exec"), {})
