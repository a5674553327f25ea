"""Pipeline at fleet scale: every Step Functions quota, history model vs moto, a 100,000-cell wave on moto.

For 1,000, 10,000 and 100,000 synthetic cells, every quota `fleet rollout start` checks
(`pipelines.quotas`: definition size, execution input, largest state payload, history events
per execution, Distributed Map children), as a share of its limit (target: at most half);
the cell selection over a glob (O(1) membership, linear); and, with `--moto-wave`, the
100,000-cell plan's first wave run on moto's execution mode (the plan stored in S3, read by the
Distributed Map), stopped once that wave succeeded.

Also for 10, 100, 1,000 and 10,000 synthetic cells (1 canary per 1,000, 10 % enterprise, the rest
SMB, six regions; the packaged default policy with the enterprise wave selecting by tier):

* definition bytes and state counts of the three machines (they do not depend on cells);
* the rollout execution input (the plan's reference) against Step Functions' 256 KiB input quota;
* the largest history (events) of any single execution, and state transitions per cell —
  measured on moto's execution mode for fleets up to 200 cells (with the model's prediction
  for the same run next to it: the model is checked execution by execution, within
  `MODEL_FACTOR`; the wave's Distributed Map items run inside the wave on moto, so only the
  model counts them), and from the
  per-cell model (`pipelines.history`) with the policy's real bake times beyond.

Run: `.venv/bin/python -m benchmarks.pipeline_scale [--measure 10,50,200] [--moto-wave] [--json]`.
Targets: the 10,000-cell definitions <= 128 KiB; every execution <= 25,000 events; every
quota at 1,000, 10,000 and 100,000 cells at most half its limit (reported, see the note), except
the rollout's duration, which the policy's rules set (one-at-a-time waves and their bakes): it is
printed on its own line, and `rollout start` refuses a rollout that would run past a year.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
from collections import Counter
from typing import Any

from model.cells import Fleet
from model.selectors import pick
from pipelines import history, planref, quotas
from pipelines.definitions import definitions
from pipelines.inputs import INPUT_QUOTA, rollout_input, wave_settings
from pipelines.targets import Targets
from pipelines.waves import Plan
from tests.support.synthetic import synthetic_fleet, synthetic_plan

SIZES = (10, 100, 1000, 10_000)
QUOTA_SIZES = (1000, 10_000, 100_000)
FAST = {"bake_seconds": 2, "health_check_interval_seconds": 1, "deploy_timeout_seconds": 60}
DEFINITIONS_TARGET = 128 * 1024


def count_states(definition: dict[str, Any]) -> int:
    total = 0
    for state in definition["States"].values():
        total += 1
        if "ItemProcessor" in state:
            total += count_states(state["ItemProcessor"])
    return total


def model(plan: Plan, overrides: dict[str, Any] | None, max_batch: int = history.MAX_BATCH) -> dict[str, Any]:
    """Predicted events per execution of a happy-path rollout: name -> events.

    The Distributed Maps' items (child executions on AWS, run inside the parent on moto) are
    keyed `w{i}-chunk-d{c}` etc., so the moto comparison skips them; batch children are named
    as the wave names them, `w{i}-d{chunk}-{batch}`.
    """
    document = rollout_input(plan, "2.5.0", overrides, max_batch=max_batch)
    items = [planref.wave_items(w) for w in document["waves"]]
    predicted: dict[str, int] = {"rollout": history.rollout_events([len(c) for c in items])}
    for i, (chunks, settings) in enumerate(zip(items, wave_settings(plan, overrides), strict=True)):
        predicted[f"w{i}"] = history.wave_events(settings)
        rounds = 0 if settings["one_at_a_time"] else history.polls(settings)
        for c, chunk in enumerate(chunks):
            predicted[f"w{i}-chunk-d{c}"] = history.chunk_events("deploy", len(chunk["batches"]))
            for j, cells in enumerate(chunk["batches"]):
                predicted[f"w{i}-d{c}-{j}"] = history.batch_events(settings, len(cells))
                for r in range(rounds):
                    last = settings if r == rounds - 1 else None
                    predicted[f"w{i}-h{r}-{c}-{j}"] = history.health_batch_events(len(cells), last)
                if rounds:
                    predicted[f"w{i}-v{c}-{j}"] = history.record_batch_events(len(cells))
    return predicted


def measure(plan: Plan, fleet_size: int, max_batch: int) -> dict[str, int]:
    """Run the rollout on moto and return events per execution (name suffix -> events)."""
    from moto import mock_aws

    from tests.support import emulator as em

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        env = em.provision(plan)
        fleet = synthetic_fleet(fleet_size)
        em.register_cells(env, fleet)
        em.create_alarms(env, list(fleet.ids))
        arn = em.start(env, rollout_input(plan, "2.5.0", FAST, max_batch=max_batch), name="bench")
        result = em.Driver(env, settle=0.05).run(arn, timeout=1800)
        if result["status"] != "SUCCEEDED":
            raise RuntimeError(f"rollout {result['status']}: {result.get('error')}: {result.get('cause')}")
        out = {}
        for execution in em.executions(env):
            name = execution["name"].removeprefix("bench-") if execution["name"] != "bench" else "rollout"
            out[name] = em.history_length(env, execution["executionArn"])
        return out


MODEL_FACTOR = 1.25  # the model may be this far off moto's measured history, either way, execution by execution


def _close(measured: int | None, expected: int | None) -> bool:
    """Both there, and within `MODEL_FACTOR` of each other."""
    if measured is None or expected is None:
        return False
    return max(measured, expected) <= MODEL_FACTOR * min(measured, expected)


def _kind(execution: str) -> str:
    """`rollout`, `w2` -> wave; `w2-d0` deploy batch; `w2-h3-0` health batch; `w2-v0` record batch."""
    if execution == "rollout":
        return "rollout"
    part = execution.split("-")[1] if "-" in execution else ""
    return {"d": "deploy", "h": "health", "v": "record", "r": "rollback", "c": "chunk"}.get(part[:1], "wave")


def definition_row(plan: Plan) -> dict[str, Any]:
    docs = definitions(plan, Targets())
    sizes = {k: len(json.dumps(v, sort_keys=True)) for k, v in docs.items()}
    return {
        "definition_bytes": sum(sizes.values()),
        "definition_bytes_by_machine": sizes,
        "states": sum(count_states(d) for d in docs.values()),
        "input_bytes": quotas.measure(plan, rollout_input(plan, "2.5.0"))[1].value,  # the reference, not the plan
    }


def run(measure_sizes: list[int], max_batch: int) -> dict[str, Any]:
    rows = []
    checks = []
    for size in sorted({*SIZES, *measure_sizes}):
        plan = synthetic_plan(synthetic_fleet(size))
        row: dict[str, Any] = {"cells": size, **definition_row(plan)}
        predicted = model(plan, None)  # the policy's real bake times and intervals
        row["model_largest_history"] = max(predicted.values())
        row["model_largest_execution"] = _kind(max(predicted, key=lambda k: predicted[k]))
        row["model_executions"] = len(predicted)
        row["model_transitions_per_cell"] = round(sum(map(history.transitions, predicted.values())) / size, 1)
        if size in measure_sizes:
            started = time.monotonic()
            measured = measure(plan, size, max_batch)
            expected = model(plan, FAST, max_batch)
            row["moto_seconds"] = round(time.monotonic() - started, 1)
            row["moto_largest_history"] = max(measured.values())
            row["moto_model_largest_history"] = max(expected.values())
            row["moto_transitions_per_cell"] = round(sum(map(history.transitions, measured.values())) / size, 1)
            expected = {k: v for k, v in expected.items() if _kind(k) != "chunk"}  # run inside the wave on moto
            diffs = {k: (measured.get(k), expected.get(k)) for k in set(measured) | set(expected)
                     if not _close(measured.get(k), expected.get(k))}
            row["model_matches_moto"] = not diffs
            checks.append({"cells": size, "executions": len(measured), "mismatches": diffs,
                           "kinds": dict(Counter(_kind(k) for k in measured))})
        rows.append(row)
    return {"rows": rows, "checks": checks}


DURATION = "execution duration"


def quota_rows(plans: dict[int, Plan]) -> list[dict[str, Any]]:
    """Every quota at each size: value, limit, share, where (the default policy's waves, no openings)."""
    rows = []
    for size, plan in plans.items():
        figures = quotas.measure(plan, rollout_input(plan, "2.5.0"))
        rows.append({"cells": size, "waves": [len(w.cells) for w in plan.waves], "quotas": [
            {"name": f.name, "value": f.value, "limit": f.limit, "share": round(f.share, 4), "where": f.where}
            for f in figures]})
    return rows


def selection_seconds(size: int) -> float:
    """One glob selecting every cell of a `size`-cell fleet (quadratic before membership used sets)."""
    ids = [f"smb-{i:06d}" for i in range(size)]
    started = time.monotonic()
    picked = pick(["smb-*"], ids, {}, ids)
    assert len(picked.cells) == size
    return round(time.monotonic() - started, 3)


def moto_wave(plan: Plan, fleet: Fleet) -> dict[str, Any]:
    """Run the plan's first wave on moto (stored plan, Distributed Map loads), stop the rollout after it."""
    from moto import mock_aws

    from model.contract import wave_execution_name
    from tests.support import emulator as em

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    first = plan.waves[0]
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        env = em.provision(plan)
        em.register_cells(env, fleet, list(first.cells))
        em.create_alarms(env, list(first.cells))
        started = time.monotonic()
        arn = em.start(env, rollout_input(plan, "2.5.0", FAST, max_batch=25), name="bench")
        sfn = env.client("stepfunctions")
        wave_arn = env.machines["wave"].replace(":stateMachine:", ":execution:") + ":" + wave_execution_name("bench", 0)
        driver = em.Driver(env, settle=0.05)
        runner = threading.Thread(target=driver.run, args=(arn, 1800), daemon=True)
        runner.start()
        status = "RUNNING"
        while status == "RUNNING" and runner.is_alive():
            time.sleep(0.5)
            with contextlib.suppress(sfn.exceptions.ExecutionDoesNotExist):
                status = sfn.describe_execution(executionArn=wave_arn)["status"]
        seconds = round(time.monotonic() - started, 1)
        sfn.stop_execution(executionArn=arn)  # the driver returns once the rollout is no longer running
        runner.join(timeout=60)
        histories = {e["name"]: em.history_length(env, e["executionArn"]) for e in em.executions(env)
                     if e["name"].startswith("bench-w0")}
        deployed = sorted(d["cell_id"] for d in driver.requests("deploy") if d["cell_id"] in set(first.cells))
        return {"cells": len(fleet.cells), "wave": first.name, "wave_cells": len(first.cells), "status": status,
                "seconds": seconds, "deployed": len(deployed), "largest_history": max(histories.values()),
                "executions": len(histories)}


def quota_table(rows: list[dict[str, Any]]) -> str:
    names = [q["name"] for q in rows[0]["quotas"]]
    head = ("cells", *names)
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        cells = [f"{q['value']:,} / {q['limit']:,} ({q['share']:.1%}){' ' + q['where'] if q['share'] > 0.5 else ''}"
                 for q in r["quotas"]]
        lines.append(" | ".join((f"{r['cells']:,}", *cells)))
    return "\n".join(f"| {line} |" for line in lines)


def table(result: dict[str, Any]) -> str:
    head = ("cells", "def bytes", "states", "input bytes", "largest history (model)", "in", "moto measured / model",
            "transitions/cell (model)")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in result["rows"]:
        moto = f"{r['moto_largest_history']} / {r['moto_model_largest_history']}" if "moto_largest_history" in r else "-"
        lines.append(" | ".join(str(x) for x in (
            f"{r['cells']:,}", f"{r['definition_bytes']:,}", r["states"], f"{r['input_bytes']:,}",
            f"{r['model_largest_history']:,}", r["model_largest_execution"], moto, r["model_transitions_per_cell"],
        )))
    return "\n".join(f"| {line} |" for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", default="10,50,200", help="fleet sizes to run on moto (comma-separated)")
    parser.add_argument("--json", action="store_true", help="print the raw result as JSON")
    parser.add_argument("--moto-wave", action="store_true", help="run the 100,000-cell plan's first wave on moto")
    parser.add_argument("--max-batch", type=int, default=25,
                        help="cap batch size in the moto runs so waves span several batch executions")
    args = parser.parse_args()
    sizes = [int(s) for s in args.measure.split(",") if s]
    result = run(sizes, args.max_batch)
    fleets = {size: synthetic_fleet(size) for size in QUOTA_SIZES}
    plans = {size: synthetic_plan(fleet) for size, fleet in fleets.items()}
    result["quotas"] = quota_rows(plans)
    result["selection_seconds"] = {size: selection_seconds(size) for size in QUOTA_SIZES}
    if args.moto_wave:
        result["moto_wave"] = moto_wave(plans[QUOTA_SIZES[-1]], fleets[QUOTA_SIZES[-1]])
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(table(result), quota_table(result["quotas"]), f"glob selection seconds: {result['selection_seconds']}",
              f"moto wave: {result.get('moto_wave', '-')}", sep="\n\n")
    last = result["rows"][-1]
    ok = (last["definition_bytes"] <= DEFINITIONS_TARGET
          and all(r["model_largest_history"] <= history.HISTORY_QUOTA for r in result["rows"])
          and all(r["input_bytes"] <= INPUT_QUOTA for r in result["rows"])
          and all(r.get("model_matches_moto", True) for r in result["rows"]))
    # The duration follows from the policy's rules (one-at-a-time waves and their bakes), not from the
    # machines' shape: reported on its own line, and `rollout start` refuses what exceeds the year.
    halves = {(r["cells"], q["name"]): q["share"] for r in result["quotas"] for q in r["quotas"]
              if q["share"] > 0.5 and q["name"] != DURATION}
    days = {r["cells"]: f"{q['value']:,} days, {q['where']}" for r in result["quotas"] for q in r["quotas"]
            if q["name"] == DURATION}
    print(f"{DURATION} under the default policy (limit {quotas.DURATION_QUOTA_DAYS} days; refused at start when "
          f"over): {days}", file=sys.stderr)
    if halves:
        print(f"quotas above half their limit: {halves}", file=sys.stderr)
    ok = ok and not halves
    for check in result["checks"]:
        if check["mismatches"]:
            print(f"model vs moto at {check['cells']} cells: {check['mismatches']}", file=sys.stderr)
    print("targets met" if ok else "TARGETS MISSED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
