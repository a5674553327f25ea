"""Every Step Functions quota a rollout meets, measured on the plan before anything calls AWS.

`measure(plan, document)` builds what the machines will hold (dict-built, the same JSON the
definitions and `pipelines.planref` produce) and reports, per quota, the largest value and its
limit; `check` turns the exceeded ones into one line each. `fleet rollout start` refuses a plan
with any problem, and the benchmark (`benchmarks.pipeline_scale`) keeps every figure at most
half its quota at 1,000, 10,000 and 100,000 cells.

* definition size: 1 MiB per state machine (the rollout's grows with the waves only);
* execution input: 256 KiB (the reference: grows with the waves only);
* state payload: 256 KiB; the rollout's while it checks a wave (the reference, one digest per
  chunk of the wave), the wave execution's (its input names the wave's object: constant), and one
  item of a wave's Distributed Map (one chunk's batches and openings, at most `CHUNK_CELLS` cells);
* history: 25,000 events per execution (`pipelines.history`, with its headroom `BUDGET`);
* execution duration: a Standard execution runs at most a year, and the rollout spans every
  wave; a floor (approvals count as instant), driven by one-at-a-time waves and their bakes;
* Map concurrency: a Distributed Map runs at most 10,000 child executions at once (the load
  Map runs `LOAD_CONCURRENCY`, the health and record Maps `CHUNK_CONCURRENCY`); an inline Map
  runs at most 40 iterations at once (more are queued, so the wave takes longer, not fails).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from model.jsonio import compact
from pipelines import history
from pipelines.definitions import CHUNK_CONCURRENCY, LOAD_CONCURRENCY, definitions
from pipelines.inputs import INPUT_QUOTA, wave_settings
from pipelines.plancheck import CHUNK_CELLS, DIGESTS_PER_PART
from pipelines.planref import Stored, execution_input, plan_objects, wave_items
from pipelines.settings import overridable_defaults
from pipelines.targets import Targets
from pipelines.waves import Plan

DEFINITION_QUOTA = 1024 * 1024
STATE_QUOTA = 256 * 1024
DURATION_QUOTA_DAYS = 365  # a Standard execution runs at most one year; the rollout spans every wave
DISTRIBUTED_CHILDREN_QUOTA = 10_000  # child executions one Distributed Map runs at once
INLINE_CONCURRENCY = 40  # iterations an inline Map runs at once (documented; more are queued)
RUNTIME_ALLOWANCE = 8 * 1024  # what a state gains while it runs: counters, a failure's error and cause
# A version id and ETag as long as S3 makes them (a version id is at most 32 characters today).
_STORED = Stored(version_id="v" * 64, etag='"' + "0" * 32 + '"')

JSON = dict[str, Any]


class QuotaExceeded(ValueError):
    """The plan would exceed a Step Functions quota; one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Figure:
    """One quota: the largest value the rollout reaches, where, and the limit."""

    name: str
    value: int
    limit: int
    where: str
    unit: str = "bytes"

    @property
    def share(self) -> float:
        return self.value / self.limit


def _bytes(document: Any) -> int:
    return len(compact(document).encode())


_DIGEST = "0" * 64


def _rollout_state(plan: Plan, reference: JSON, chunks: int, index: int) -> JSON:
    """The rollout execution's state while it checks wave `index`: the input and one digest per chunk."""
    timeout = int(plan.policy.deploy_timeout.total_seconds())
    digests = [{"d": _DIGEST}] * chunks  # the load Map's result, before its selector keeps the strings
    return {**reference, "current": {
        "defaults": overridable_defaults(plan.waves[index], timeout), "ref": reference["plan"]["waves"][index],
    }, "check": {"digests": digests, "parts": [[_DIGEST] * min(DIGESTS_PER_PART, chunks)]}}


def _wave_input(document: JSON, ref: JSON, cells: int, settings: JSON) -> JSON:
    return {"version": document["version"], "rollout": "r" * 64, "settings": settings, "cells": cells,
            "plan": {"key": ref["key"], "version_id": ref["version_id"]},
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "a" * 160}


def _chunk_state(document: JSON, item: JSON, settings: JSON) -> JSON:
    """One item of a wave's Distributed Map as its child execution starts (the item and its selector)."""
    return {**item, "chunk": 99_999, "wave": "w" * 80, "version": document["version"], "rollout": "r" * 64,
            "settings": settings, "earlier": {}, "round": 99_999}


def _wave_days(plan: Plan, document: JSON, settings: list[JSON]) -> list[tuple[str, float]]:
    """Per wave, the days it runs at least: every deploy round, then each bake (one per cell when one at a time).

    Approvals are gates of unknown length and count as instant, so the figure is a floor.
    """
    deploy = plan.policy.deploy_estimate.total_seconds()
    out = []
    for wave, doc, s in zip(plan.waves, document["waves"], settings, strict=True):
        rounds = len(wave.cells) if wave.policy.one_at_a_time else len(doc["batches"])
        bakes = len(wave.cells) if wave.policy.one_at_a_time else 1
        how = (f"{len(wave.cells):,} cells one at a time, each deploy then its bake" if wave.policy.one_at_a_time
               else f"{rounds:,} deploy rounds, then one bake")
        out.append((f"{wave.name}: {how}", (rounds * deploy + bakes * int(s["bake_seconds"])) / 86_400))
    return out


def measure(plan: Plan, document: JSON, targets: Targets | None = None) -> list[Figure]:
    """The largest value of every quota for a rollout of `document` (`rollout_input`'s plan document)."""
    targets = targets or Targets()
    docs = definitions(plan, targets)
    kind, size = max(((k, _bytes(d)) for k, d in docs.items()), key=lambda kv: kv[1])
    objects = plan_objects(document)
    reference = execution_input(document, targets.plan_bucket, objects, [_STORED] * len(objects))
    settings = wave_settings(plan, document["settings"])
    items = [wave_items(w) for w in document["waves"]]
    states = [(f"rollout, checking wave {w['name']}", _bytes(_rollout_state(plan, reference, len(chunks), i)))
              for i, (w, chunks) in enumerate(zip(document["waves"], items, strict=True))]
    for w, ref, wave, s, chunks in zip(document["waves"], reference["plan"]["waves"], plan.waves, settings, items,
                                       strict=True):
        states.append((f"wave {w['name']} input", _bytes(_wave_input(document, ref, len(wave.cells), s))))
        states += [(f"wave {w['name']}, one chunk", max((_bytes(_chunk_state(document, c, s)) for c in chunks),
                                                        default=0))]
    where, state = max(states, key=lambda ws: ws[1])
    events = [("rollout", history.rollout_events([len(chunks) for chunks in items]))]
    for w, s, chunks in zip(document["waves"], settings, items, strict=True):
        events.append((f"wave {w['name']}", history.wave_events(s)))
        widest = max((len(c["batches"]) for c in chunks), default=0)
        events += [(f"wave {w['name']} chunk", history.chunk_events(mode, widest)) for mode in ("deploy", "rollback")]
        events += [(f"wave {w['name']} batch", history.batch_events(s, max(map(len, w["batches"]), default=0)))]
    events.append(("rollout load item", history.load_events(min(CHUNK_CELLS, max(len(w.cells) for w in plan.waves)))))
    longest, count = max(events, key=lambda we: we[1])
    days = _wave_days(plan, document, settings)
    most = max((len(c) for c in items), default=0)  # the chunks of the largest wave
    at_once = min(most, max(LOAD_CONCURRENCY, CHUNK_CONCURRENCY))
    return [
        Figure("definition size", size, DEFINITION_QUOTA, f"{kind} machine"),
        Figure("execution input", _bytes(reference), INPUT_QUOTA, "rollout"),
        Figure("state payload", state + RUNTIME_ALLOWANCE, STATE_QUOTA, where),
        Figure("history events", count, history.HISTORY_QUOTA, longest, "events"),
        Figure("distributed map children at once", at_once, DISTRIBUTED_CHILDREN_QUOTA,
               f"checking the health of {most:,} chunks", "executions"),
        Figure("execution duration", math.ceil(sum(d for _, d in days)), DURATION_QUOTA_DAYS,
               f"rollout (longest wave {max(days, key=lambda wd: wd[1])[0]})" if days else "rollout", "days"),
    ]


def check(plan: Plan, document: JSON, targets: Targets | None = None) -> list[str]:
    """One line per quota the rollout would exceed (empty: it fits), without calling AWS."""
    return [f"{f.name}: {f.value:,} {f.unit} in the {f.where} exceeds Step Functions' limit of {f.limit:,} {f.unit}"
            + _HINTS[f.name] for f in measure(plan, document, targets) if f.value > f.limit]


_HINTS = {
    "definition size": " (fewer waves)",
    "execution input": " (fewer waves)",
    "state payload": " (split the wave: select fewer cells per wave in the rollout policy)",
    "history events": " (a longer health_check_interval or a shorter bake)",
    "distributed map children at once": "",
    "execution duration": " (split the wave over several rollouts, or a shorter bake)",
}
