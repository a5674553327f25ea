"""Consistent bucketing: whoever has the feature at a stage keeps it at every later (larger) stage."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activation.plans import PlannedFlag
from activation.render import render_flags
from model.flags import FlagPlan, Stage
from tests.flags.flags_support import client_for, flagd_clock, has_feature, sample_flags

START = date(2026, 3, 2)
ID_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-")
customer_ids = st.builds(lambda first, rest: first + rest, st.sampled_from("abcXYZ019"), st.text(ID_CHARS, max_size=40))


def _flag(percents: list[int], key: str) -> PlannedFlag:
    """The sample flag with other stages (same evaluator path as a parsed plan)."""
    sample = sample_flags()[0]
    plan = FlagPlan.model_validate({
        **sample.plan.model_dump(), "key": key, "allowlist": (),
        "stages": [Stage(day=2 + i, percent=p) for i, p in enumerate(percents)],
    })
    return PlannedFlag(plan, sample.shown, sample.line, tuple(range(len(percents))), sample.flag_cells,
                       tuple(sample.flag_cells for _ in percents))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    percents=st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=5).map(sorted),
    ids=st.lists(customer_ids, min_size=1, max_size=40, unique=True),
    key=st.sampled_from(["newVoiceCodec", "otherFeature", "x"]),
)
def test_a_customer_on_at_one_stage_stays_on_at_every_later_stage(percents: list[int], ids: list[str], key: str) -> None:
    client = client_for(render_flags([_flag(percents, key)]))
    history = {}
    for i in range(len(percents)):
        with flagd_clock(START + timedelta(days=1 + i)):
            history[i] = {cid for cid in ids if has_feature(client, key, cid)}
    for i in range(1, len(percents)):
        assert history[i - 1] <= history[i], f"lost at {percents[i]}%: {sorted(history[i - 1] - history[i])}"
    if percents[-1] == 100:
        assert history[len(percents) - 1] == set(ids)
    if percents[0] == 0:
        assert history[0] == set()
