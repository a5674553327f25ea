"""A per-cell model of execution history (events) and state transitions, used to size batches.

Step Functions caps one execution at 25,000 history events. Cells run in `batch`
child executions, started by the items of the wave's Distributed Maps (one child execution per
chunk of the plan object, `pipelines.plancheck.CHUNK_CELLS` cells); a Distributed Map's items do
not write to the wave's history, so a wave execution sees a handful of events per stage and per
bake round, whatever its cells. The model counts
the events each state type writes (Task: entered, scheduled, started, [submitted],
succeeded, exited; Pass/Choice/Wait: entered, exited; Map iteration: started, succeeded)
along the happy path, and the benchmark checks it against moto's real histories.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pipelines.plancheck import CHUNK_CELLS, DIGEST_CHUNK, DIGESTS_PER_PART

HISTORY_QUOTA = 25_000
BUDGET = HISTORY_QUOTA // 2  # half the quota: headroom for retries and the failure path (issue 18)
MAX_BATCH = CHUNK_CELLS  # a batch fits in one chunk of the plan object

TASK = 5
CALLBACK = 6  # .waitForTaskToken and .sync add TaskSubmitted
FLOW = 2  # Pass, Choice, Wait, Succeed
ITERATION = 2  # MapIterationStarted + MapIterationSucceeded
MAP = 4  # MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited
MAP_RUN = 2  # a Distributed Map adds MapRunStarted, MapRunSucceeded; its items run in child executions
EXECUTION = 2


def polls(settings: dict[str, Any]) -> int:
    """Health checks during one bake: one at start, then one per interval until the bake ends."""
    interval = max(1, int(settings["health_check_interval_seconds"]))
    return 1 + math.ceil(int(settings["bake_seconds"]) / interval)


def deploy_events_per_cell(settings: dict[str, Any]) -> int:
    """Events one cell adds to its batch execution while deploying (and baking, one at a time)."""
    events = ITERATION + TASK + FLOW + FLOW  # read registry, previous-version choice + pass
    events += TASK + 4 * FLOW + 3 * FLOW  # declared facts (read, defaults, choice, merge, ready); declared release
    events += FLOW + FLOW  # customer-notice choice, approval choice
    events += 3 * FLOW  # the cell's window openings (choice, pass) and the window choice
    if settings["notify_customers"]:
        events += TASK
    if settings["approval"] and settings["one_at_a_time"]:
        events += CALLBACK
    events += TASK + CALLBACK + TASK + FLOW  # mark deploying, deploy, mark deployed, bake choice
    if settings["one_at_a_time"]:
        rounds = polls(settings)
        events += FLOW + rounds * (TASK + FLOW) + (rounds - 1) * (FLOW + FLOW + QUIET_TICK) + TASK
        events += analysis_events(settings)
        events += FLOW + (TASK if settings["notify_customers"] else 0)  # completion notice
    return events + FLOW  # Succeed


QUIET_TICK = 3 * FLOW  # after each bake tick: the quiet window's reach, choice, new start (`health_checks.quiet_tick`)
ALARMS_PER_CELL = 2  # the metric alarms a cell module creates (error rate, p99 latency)


def analysis_events(settings: dict[str, Any]) -> int:
    """Events of one cell's bake analysis (`pipelines.health_checks`): the due choice, and the checks if any."""
    checks = settings.get("checks", [])
    if not checks:
        return FLOW
    metric = ITERATION + FLOW + TASK + 5 * FLOW  # kind, GetMetricData, series, measured?, value, below?, result
    quiet = ITERATION + FLOW + TASK + MAP + ALARMS_PER_CELL * (ITERATION + 2 * FLOW) + 4 * FLOW
    per_check = max(metric, quiet)
    return FLOW + MAP + len(checks) * per_check + FLOW + TASK + FLOW  # results, record, failed?


def batch_size(settings: dict[str, Any], max_batch: int = MAX_BATCH) -> int:
    """How many cells one batch execution may take and stay within the history budget."""
    return max(1, min(max_batch, (BUDGET - 20) // deploy_events_per_cell(settings)))


def batch_events(settings: dict[str, Any], cells: int) -> int:
    """Events of one deploying batch execution of `cells` cells (happy path)."""
    return EXECUTION + FLOW + MAP + cells * deploy_events_per_cell(settings)


def health_batch_events(cells: int, settings: dict[str, Any] | None = None) -> int:
    """Events of one health round's batch execution; the last round (with `settings`) includes the analysis."""
    analysis = analysis_events(settings) if settings is not None else FLOW
    return EXECUTION + FLOW + MAP + cells * (ITERATION + TASK + FLOW + analysis + FLOW)


def record_batch_events(cells: int) -> int:
    return EXECUTION + FLOW + MAP + cells * (ITERATION + TASK)


DISTRIBUTED = MAP + MAP_RUN + TASK + FLOW  # a wave's Distributed Map, then reading the wave's record and the choice


def wave_events(settings: dict[str, Any]) -> int:
    """Events of one wave execution (happy path): constant per stage and per bake round."""
    events = EXECUTION + TASK + FLOW  # notify, approval choice
    if settings["approval"] and not settings["one_at_a_time"]:
        events += CALLBACK
    events += DISTRIBUTED + FLOW  # deploy chunks, bake choice
    if not settings["one_at_a_time"]:
        rounds = polls(settings)
        events += 2 * FLOW + rounds * (DISTRIBUTED + FLOW) + (rounds - 1) * (FLOW + FLOW + QUIET_TICK + FLOW)
        events += DISTRIBUTED
    return events + TASK + FLOW  # notify, succeed


def chunk_events(mode: str, batches: int) -> int:
    """Events of one item of a wave's Distributed Map (a child execution on AWS): one `batch` child per batch."""
    child = ITERATION + CALLBACK + (2 * FLOW if mode == "deploy" else 0)  # deploy: the batch's window choice, pass
    if mode == "rollback":
        return EXECUTION + MAP + batches * (child + FLOW + FLOW) + 3 * FLOW
    return EXECUTION + TASK + FLOW + MAP + batches * child + FLOW


def rollout_events(chunks: Sequence[int]) -> int:
    """Events of the rollout execution (settings given in the input, as `rollout start` does).

    Per wave (`chunks`: its number of chunks): the Distributed Map hashing its chunks (its items
    in child executions), the plan check (three Pass states, a Choice, and a Map hashing one part
    per `DIGESTS_PER_PART` chunk digests), then the wave child.
    """
    per_wave = [4 * FLOW + MAP + MAP_RUN + MAP + math.ceil(n / DIGESTS_PER_PART) * (ITERATION + FLOW) + CALLBACK
                for n in chunks]
    return EXECUTION + FLOW + sum(per_wave) + TASK + FLOW


def load_events(cells: int) -> int:
    """Events of one item of the rollout's load Map (a child execution on AWS): hashing its chunk."""
    return EXECUTION + 3 * FLOW + MAP + math.ceil(cells / DIGEST_CHUNK) * (ITERATION + FLOW)


def transitions(events: int) -> int:
    """State transitions Step Functions bills, estimated as one per state entered."""
    return events // 2
