"""The seed's example, `flags/newVoiceCodec.yaml`: its four days and the published schedule as golden files."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from activation.gate import declared_releases
from activation.render import render_flags
from activation.views import render_status, status_rows
from fleet.cli import app
from fleet.inputs import load_fleet
from tests.flags.flags_support import REPO, SAMPLE_DAYS, sample_flags
from tests.support.golden import assert_golden


@pytest.mark.parametrize("day_number", sorted(SAMPLE_DAYS))
def test_sample_flag_snapshot_of_each_seed_day(day_number: int) -> None:
    day = SAMPLE_DAYS[day_number][0]
    assert_golden(f"flags/newVoiceCodec-day{day_number}-{day.isoformat()}.json", render_flags(sample_flags(), day))


def test_sample_flag_published_schedule() -> None:
    assert_golden("flags/flags.json", render_flags(sample_flags()))


def test_sample_status_on_each_seed_day() -> None:
    releases = declared_releases(load_fleet(REPO))
    text = "".join(render_status(status_rows(sample_flags(), releases, d), d, "declared in cells/")
                   for d, _ in SAMPLE_DAYS.values())
    assert_golden("flags/status.txt", text)


def test_cli_render_at_prints_the_days_golden_document() -> None:
    day = SAMPLE_DAYS[3][0]
    result = CliRunner().invoke(app, ["flags", "render", "--at", day.isoformat(), "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    assert result.stdout == render_flags(sample_flags(), day)
