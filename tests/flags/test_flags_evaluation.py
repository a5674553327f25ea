"""The generated flag file on flagd's own evaluator, through the OpenFeature SDK: shares per stage,
allowlist, denylist, kill switch, and the test's independent bucket prediction."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from openfeature.flag_evaluation import Reason

from activation.render import render_flags
from tests.flags.flags_support import (
    BETA,
    SAMPLE,
    SAMPLE_DAYS,
    client_for,
    customers,
    flagd_clock,
    fleet_with_flag,
    has_feature,
    predicted_bucket,
    predicted_bucket_by_value,
    sample_flags,
)

IDS = customers()


@pytest.fixture(scope="module")
def schedule_client():  # type: ignore[no-untyped-def]
    """The published file: the whole schedule, compiled into targeting on $flagd.timestamp."""
    return client_for(render_flags(sample_flags()))


@pytest.fixture(scope="module")
def verdicts(schedule_client) -> dict[int, list[bool]]:  # type: ignore[no-untyped-def]
    """Who has the feature on each of the seed's days, by flagd on the published file (one pass per day)."""
    out = {}
    for number, (day, _) in SAMPLE_DAYS.items():
        with flagd_clock(day):
            out[number] = [has_feature(schedule_client, SAMPLE, cid) for cid in IDS]
    return out


@pytest.mark.parametrize("day_number", sorted(SAMPLE_DAYS))
def test_share_on_each_stage_day_is_within_one_and_a_half_points(verdicts: dict[int, list[bool]], day_number: int) -> None:
    percent = SAMPLE_DAYS[day_number][1]
    on = sum(verdicts[day_number])
    assert abs(100 * on / len(IDS) - percent) <= 1.5, f"day {day_number}: {on} of {len(IDS)} on, want {percent}%"


@pytest.mark.parametrize("day_number", sorted(SAMPLE_DAYS))
def test_independent_bucket_prediction_agrees_on_every_id(verdicts: dict[int, list[bool]], day_number: int) -> None:
    percent = SAMPLE_DAYS[day_number][1]
    predicted = [predicted_bucket(SAMPLE, cid) < percent for cid in IDS]
    disagree = [cid for cid, got, want in zip(IDS, verdicts[day_number], predicted, strict=True) if got != want]
    assert disagree == []


def test_the_5_percent_are_within_the_25_percent_within_everyone(verdicts: dict[int, list[bool]]) -> None:
    for earlier, later in ((2, 3), (3, 7)):
        assert all(b for a, b in zip(verdicts[earlier], verdicts[later], strict=True) if a)


@pytest.mark.parametrize("day_number", sorted(SAMPLE_DAYS))
def test_the_days_snapshot_answers_as_the_schedule_does(verdicts: dict[int, list[bool]], day_number: int) -> None:
    snapshot = client_for(render_flags(sample_flags(), SAMPLE_DAYS[day_number][0]))
    sample = IDS[::5]
    assert [has_feature(snapshot, SAMPLE, cid) for cid in sample] == verdicts[day_number][::5]


def test_stage_starts_at_midnight_utc(schedule_client) -> None:  # type: ignore[no-untyped-def]
    day, _ = SAMPLE_DAYS[7]
    with flagd_clock(day - timedelta(days=1), seconds=24 * 3600 - 1):
        before = sum(has_feature(schedule_client, SAMPLE, cid) for cid in IDS[:2000])
    with flagd_clock(day, seconds=0):
        after = sum(has_feature(schedule_client, SAMPLE, cid) for cid in IDS[:2000])
    assert before < 2000 * 0.30
    assert after == 2000


def test_allowlisted_customer_has_it_from_day_one_every_day_and_in_every_cell(schedule_client) -> None:  # type: ignore[no-untyped-def]
    start = SAMPLE_DAYS[1][0]
    for offset in range(10):
        with flagd_clock(start + timedelta(days=offset)):
            for cell in (None, ("smb-eu-1", "smb", "eu-west-1"), ("enterprise-us-hipaa", "enterprise", "us-east-1")):
                assert has_feature(schedule_client, SAMPLE, BETA, cell)
    with flagd_clock(start - timedelta(days=1)):
        assert not has_feature(schedule_client, SAMPLE, BETA)  # before the deploy is complete


def _plan(extra: str = "", state: str = "enabled", scope: str = "") -> str:
    return f"""flag:
  key: payFlag
  description: test flag
  state: {state}
  variants: {{"on": true, "off": false}}
  default: "off"
  release: {{voice: 2.4.0}}
  allowlist: [beta-1, beta-2]
  denylist: [{", ".join(IDS[:200])}]
  start: 2026-03-02
{scope}  stages:
    - {{day: 2, percent: 50}}
    - {{day: 3, percent: 100{extra}}}
"""


def _flags(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return sample_flags(fleet_with_flag(tmp_path, "payFlag", text))


def test_denylisted_customers_never_have_it_even_at_100_percent(tmp_path: Path) -> None:
    flags = _flags(tmp_path, _plan())
    client = client_for(render_flags(flags))
    for day in (date(2026, 3, 3), date(2026, 3, 4), date(2027, 1, 1)):
        with flagd_clock(day):
            assert not any(has_feature(client, "payFlag", cid) for cid in IDS[:200])
            assert all(has_feature(client, "payFlag", cid) for cid in IDS[200:400]) == (day >= date(2026, 3, 4))


def test_kill_switch_turns_it_off_for_everyone_allowlisted_included(tmp_path: Path) -> None:
    flags = _flags(tmp_path, _plan(state="disabled"))
    client = client_for(render_flags(flags))
    with flagd_clock(date(2026, 3, 10)):
        assert not any(has_feature(client, "payFlag", cid) for cid in [*IDS[:2000], "beta-1", "beta-2"])
        details = client.get_boolean_details("payFlag", False, None)
    assert details.reason == Reason.DISABLED
    live = client_for(render_flags(_flags(tmp_path, _plan())))
    with flagd_clock(date(2026, 3, 10)):
        assert has_feature(live, "payFlag", "beta-1")  # the same plan, enabled: the switch is what turns it off


def test_stage_scope_limits_the_rollout_to_its_tiers(tmp_path: Path) -> None:
    text = _plan(extra=", scope: {tiers: [canary, smb]}")
    text = text.replace("{day: 2, percent: 50}", "{day: 2, percent: 50, scope: {tiers: [canary]}}")
    client = client_for(render_flags(_flags(tmp_path, text)))
    canary, smb, enterprise = ("canary-us-internal", "canary", "us-east-1"), ("smb-eu-1", "smb", "eu-west-1"), (
        "enterprise-eu-standard", "enterprise", "eu-west-1")
    sample = IDS[200:1200]
    with flagd_clock(date(2026, 3, 3)):
        shares = {c[1]: sum(has_feature(client, "payFlag", cid, c) for cid in sample) / len(sample)
                  for c in (canary, smb, enterprise)}
    assert abs(shares["canary"] - 0.5) < 0.05 and shares["smb"] == 0 and shares["enterprise"] == 0
    with flagd_clock(date(2026, 3, 4)):
        assert all(has_feature(client, "payFlag", cid, smb) for cid in sample)
        assert not any(has_feature(client, "payFlag", cid, enterprise) for cid in sample)
        assert has_feature(client, "payFlag", "beta-1", enterprise)  # the allowlist has the flag's (whole-fleet) scope


def test_bucketing_on_another_context_field_hashes_that_value(tmp_path: Path) -> None:
    text = _plan().replace('  start:', '  bucketing_key: cell_id\n  start:')
    client = client_for(render_flags(_flags(tmp_path, text)))
    cells = [f"cell-{i:04d}" for i in range(300)]
    with flagd_clock(date(2026, 3, 3)):
        got = [has_feature(client, "payFlag", "someone", (cid, "smb", "eu-west-1")) for cid in cells]
    assert got == [predicted_bucket_by_value(cid) < 50 for cid in cells]
    assert 0.35 < sum(got) / len(got) < 0.65
