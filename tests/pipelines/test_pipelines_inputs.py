"""The rollout input: the plan's cells in batches sized by the history model; validated overrides."""

from __future__ import annotations

import json

import pytest

from fleet.options import REPO_ROOT
from model.errors import InputErrors
from pipelines import history, planref
from pipelines.inputs import INPUT_QUOTA, rollout_input, wave_settings
from pipelines.plancheck import CHUNK_CELLS, cells_digest
from tests.support.fleets import wave_plan
from tests.support.synthetic import synthetic_fleet, synthetic_plan

PLAN = wave_plan(REPO_ROOT)


def test_input_carries_the_plan_in_order() -> None:
    document = rollout_input(PLAN, "2.5.0", {"bake_seconds": 0})
    assert document["version"] == "2.5.0"
    assert document["settings"] == {"bake_seconds": 0}
    assert [w["name"] for w in document["waves"]] == [w.name for w in PLAN.waves]
    for wave, planned in zip(document["waves"], PLAN.waves, strict=True):
        assert [c for batch in wave["batches"] for c in batch] == list(planned.cells)


def test_overrides_merge_over_policy_defaults() -> None:
    defaults = wave_settings(PLAN)
    assert defaults[0]["bake_seconds"] == 3600  # canary bakes up to 1h
    assert defaults[-1]["max_concurrency"] == 1  # enterprise: one at a time
    assert [s["bake_seconds"] for s in wave_settings(PLAN, {"bake_seconds": 5})] == [5] * len(PLAN.waves)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"bake_minutes": 1}, "unknown setting 'bake_minutes'"),
    ({"bake_seconds": -1}, "must be a whole number of seconds"),
    ({"health_check_interval_seconds": 0}, "must be at least 1"),
    ({"deploy_timeout_seconds": 0}, "must be at least 1"),
])
def test_bad_overrides_are_input_errors(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(InputErrors, match=message):
        rollout_input(PLAN, "2.5.0", overrides)


def test_batches_keep_every_batch_execution_under_the_history_budget() -> None:
    plan = synthetic_plan(synthetic_fleet(10_000))
    document = rollout_input(plan, "2.5.0")
    for wave, settings in zip(document["waves"], wave_settings(plan), strict=True):
        for batch in wave["batches"]:
            assert history.batch_events(settings, len(batch)) <= history.BUDGET
        assert history.wave_events(settings) <= history.BUDGET
        # No batch spans two chunks of the plan object: the chunks are the cells cut every CHUNK_CELLS.
        chunks = [[c for j in group for c in wave["batches"][j]] for group in planref.chunk_batches(wave["batches"])]
        cells = [c for batch in wave["batches"] for c in batch]
        assert chunks == [cells[i:i + CHUNK_CELLS] for i in range(0, len(cells), CHUNK_CELLS)]
    enterprise = document["waves"][-1]
    assert max(len(b) for b in enterprise["batches"]) < history.MAX_BATCH  # long per-cell bakes: smaller batches
    assert len(json.dumps(document)) <= INPUT_QUOTA


def test_execution_names_leave_room_for_child_suffixes() -> None:
    from datetime import UTC, datetime

    from fleet.rollouts import MAX_NAME, check_name, execution_name

    name = execution_name("2.5.0-rc.1", datetime(2026, 11, 26, 17, 28, tzinfo=UTC))
    assert name == "v2-5-0-rc-1-20261126T172800Z"
    assert check_name(name) is None
    assert check_name("x" * (MAX_NAME + 1))
    assert check_name("bad name")
    # A batch child of the 100,000-cell plan: wave 3, bake round 999, chunk 399, batch 249 of the chunk.
    assert len(f"{'x' * MAX_NAME}-w3-h999-399-249") <= 80


def test_the_digest_depends_on_the_cells_not_on_their_batches() -> None:
    """The rollout compiles one digest per wave; `rollout start` may cut batches as its settings say."""
    from pipelines.plancheck import chunk_digest

    cells = [f"smb-{i:05d}" for i in range(700)]
    assert cells_digest(cells) == cells_digest(tuple(cells))
    assert cells_digest(cells) != cells_digest(cells[:-1])
    assert cells_digest(cells) != cells_digest([*cells[:250], *cells[251:], cells[250]])  # order counts
    # Chunk by chunk, as the load Map's items hash them.
    assert chunk_digest(cells[:250]) != chunk_digest(cells[250:500])
    small = rollout_input(PLAN, "2.5.0", max_batch=2)["waves"][2]["batches"]
    large = rollout_input(PLAN, "2.5.0")["waves"][2]["batches"]
    assert small != large
    assert cells_digest([c for b in small for c in b]) == cells_digest([c for b in large for c in b])
