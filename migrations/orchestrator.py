"""The migration compiled into one Step Functions state machine whose size does not depend on the fleet.

The definition holds the manifest's rules (phases, their steps, approvals, concurrency) as a
compiled `Pass` result; the cells travel in the execution input (`execution_input`), cut into
batches, as the rollout pipeline's plan does. Three modes of the same machine:

* `run` (the operator's execution): a Map over the phases, all at once, so each phase is a lane
  that moves through its steps in order (a Map over the steps, one at a time). A step may ask for
  approval (SNS `.waitForTaskToken`), then runs its batches one after the other, each as a child
  execution of this machine (`.sync:2`, mode `cells`), then waits the step's bake.
* `cells` (a child): a Map over the batch's cells (at most the step's concurrency at once). Each
  cell is marked running, its work requested over EventBridge `.waitForTaskToken`
  (`CellDeployRequested` for deployment phases, `CellMigrationRequested` otherwise; backfill
  workers answer `{"rows_done": N, "rows_total": N}`) and marked complete or failed in the
  migrations table. One-at-a-time steps (the enterprise wave) ask approval per cell and bake
  per cell.
* `release` (a child): after a `migrate-code-readonly` step's bake, its cells are released to
  `contract`.

Per-cell fencing: a cell finishing a phase adds itself to the *gate* of the batch that holds it in
the next phase (`gate#<phase>#<step>.<batch>`, a DynamoDB string set); a lane starts a batch
only when its gate holds every cell of the batch. So the canary reaches `contract` (its own
read-only code deployed and baked) while SMB cells are still backfilling; `contract`, the point
of no return, starts on a cell only after that cell's `migrate-code-readonly` bake. A failed cell
is recorded as failed; the other cells of its step finish, then the migration fails (every lane
stops: no later step starts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migrations.planner import MigrationPlan, PhasePlan, Step
from model.cells import Engine
from model.contract import (
    DEFAULT_MIGRATIONS_TABLE,
    DEPLOY_DETAIL_TYPE,
    EVENT_SOURCE,
    MIGRATION_DETAIL_TYPE,
    MIGRATION_EVENT_SOURCE,
)
from model.manifest import PhaseName, PhaseType
from pipelines.asl import (
    DDB_GET,
    DDB_PUT,
    DDB_UPDATE,
    EVENTS_WAIT,
    JSON,
    NULL,
    SNS_WAIT,
    START_SYNC,
    Catch,
    Choice,
    ChoiceRule,
    Fail,
    Graph,
    Map,
    Pass,
    Task,
    Wait,
)
from pipelines.definitions import eq, retry
from pipelines.targets import Targets

FAILED = "Migration failed"
DONE = "Migration complete"
MAX_BATCH = 200  # cells per child execution: ~50 history events each, half the 25,000-event quota
INLINE_MAP_LIMIT = 40  # Step Functions runs at most 40 iterations of an inline Map at once
MAX_CONCURRENCY = INLINE_MAP_LIMIT // 2
POLL_SECONDS = 60  # the first wait at a closed gate; each further wait is twice as long, up to the most
POLL_MAX_SECONDS = POLL_SECONDS * 2**9  # doubling from the first wait lands on it (8 h 32 min)
MACHINE_NAME_LIMIT = 80


def machine_name(targets: Targets, migration_id: str) -> str:
    """The orchestrator's state machine name (the control-plane stack creates it)."""
    return f"{targets.prefix}-migration-{migration_id}"[:MACHINE_NAME_LIMIT]


def machine_arn(targets: Targets, migration_id: str) -> str:
    """The orchestrator's own ARN: its `run` executions start `cells` and `release` children of itself."""
    return targets.machine_arn(machine_name(targets, migration_id).removeprefix(f"{targets.prefix}-"))


@dataclass(frozen=True)
class Segment:
    """What one lane iteration runs: a step, or every step of a one-at-a-time wave as one."""

    label: str
    cells: tuple[str, ...]
    wait_seconds: float
    approval: bool  # asked once for the segment, before it
    each: bool  # one at a time: each cell approved (when `approval`), each cell baked
    concurrency: int


def segments(phase: PhasePlan) -> list[Segment]:
    """The phase's steps, a one-at-a-time wave's per-cell steps folded into one (size independent of the fleet)."""
    out: list[Segment] = []
    folded: list[Step] = []

    def flush() -> None:
        if folded:
            first = folded[0]
            out.append(Segment(first.wave or first.label, tuple(c for s in folded for c in s.cells),
                               first.wait.total_seconds(), first.approval, True, 1))
            folded.clear()

    for step in phase.steps:
        if step.one_at_a_time:
            if folded and folded[0].wave != step.wave:
                flush()
            folded.append(step)
            continue
        flush()
        limit = min(step.concurrency or MAX_CONCURRENCY, MAX_CONCURRENCY)
        out.append(Segment(step.label, step.cells, step.wait.total_seconds(), step.approval, False, limit))
    flush()
    return out


def _release(plan: MigrationPlan, index: int) -> str:
    """When a cell of phase `index` may start the next phase: on `complete`, after its bake (`baked`), or never."""
    if index + 1 >= len(plan.phases):
        return ""
    after = plan.phases[index + 1].name
    return "baked" if after is PhaseName.CONTRACT else "complete"


def _engine_key(engine: Engine) -> str:
    return engine.value.removeprefix("aurora-")


def facts(plan: MigrationPlan) -> list[JSON]:
    """The manifest's rules as data compiled into the definition: per phase, what it sends and its steps' gates."""
    out = []
    for i, phase in enumerate(plan.phases):
        out.append({
            "name": phase.name.value,
            "type": phase.type.value,
            "version": phase.version or "",
            "previous_version": phase.previous_version or "",
            "scripts": {_engine_key(e): phase.scripts.get(e, "") for e in Engine},
            "checkpoint_interval": phase.checkpoint_interval or 0,
            "gated": i > 0,
            "next": plan.phases[i + 1].name.value if i + 1 < len(plan.phases) else "",
            "release": _release(plan, i),
            "steps": [{"label": s.label, "approval": s.approval and not s.each, "each": s.each,
                       "cell_approval": s.approval and s.each, "concurrency": s.concurrency}
                      for s in segments(phase)],
        })
    return out


def _batches(cells: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    return [cells[i:i + size] for i in range(0, len(cells), size)]


def execution_input(plan: MigrationPlan, time_scale: float = 1.0, max_batch: int = MAX_BATCH) -> JSON:
    """The `run` execution's input: per phase, per step, its wait (scaled for tests) and its batches of cells.

    Each cell names the gate it joins in the next phase (`g`); each batch names its own gate and
    its MySQL cells (the others run PostgreSQL). Cells travel here, never in the definition.
    """
    where: list[dict[str, str]] = []  # per phase: cell -> "step.batch"
    layout: list[list[tuple[Segment, list[tuple[str, ...]]]]] = []
    for phase in plan.phases:
        positions: dict[str, str] = {}
        steps = []
        for k, segment in enumerate(segments(phase)):
            batches = _batches(segment.cells, max_batch)
            for b, batch in enumerate(batches):
                positions.update(dict.fromkeys(batch, f"{k}.{b}"))
            steps.append((segment, batches))
        where.append(positions)
        layout.append(steps)
    mysql = {c for c, e in plan.engines.items() if e is Engine.AURORA_MYSQL}
    document = []
    for i, steps in enumerate(layout):
        nxt = where[i + 1] if i + 1 < len(where) else {}
        document.append([{
            "wait": int(segment.wait_seconds * time_scale),
            "batches": [{
                "gate": f"{k}.{b}",
                "cells": [{"c": c, "g": nxt[c]} if c in nxt else {"c": c} for c in batch],
                "mysql": [c for c in batch if c in mysql],
            } for b, batch in enumerate(batches)],
        } for k, (segment, batches) in enumerate(steps)])
    poll = max(1, int(POLL_SECONDS * time_scale))
    most = poll
    while most * 2 <= POLL_MAX_SECONDS * time_scale:
        most *= 2  # a power of two times `poll`, so the doubling waits land on it
    return {"mode": "run", "migration_id": plan.id, "settings": {"poll": poll, "poll_max": most},
            "plan": document}


# --------------------------------------------------------------------------------------------
# shared pieces


def _key(key: str) -> JSON:
    return {"migration_id": {"S.$": "$.migration_id"}, "key": {"S.$": key}}


def _record(table: str, status: str, extra: dict[str, tuple[str, str]], *, name: str) -> Task:
    """The cell's item `cell#<cell>#<phase>` (the layout `fleet migrate status --store dynamodb` reads)."""
    names = {"#s": "status", "#c": "cell_id", "#p": "phase"}
    values: JSON = {":s": {"S": status}, ":c": {"S.$": "$.cell.c"}, ":p": {"S.$": "$.phase.name"}}
    sets = ["#s = :s", "#c = :c", "#p = :p"]
    for attr, (kind, path) in extra.items():
        names[f"#{attr}"] = attr
        values[f":{attr}"] = {f"{kind}.$": path}
        sets.append(f"#{attr} = :{attr}")
    return Task(
        resource=DDB_UPDATE,
        parameters={
            "TableName": table,
            "Key": _key("States.Format('cell#{}#{}', $.cell.c, $.phase.name)"),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        },
        result_path=NULL,
        retry=retry("dynamodb"),
        next=name,
    )


def _join_gate(table: str, next_: str) -> Task:
    """Add the cell to the gate of its batch in the next phase (a string set: adding twice is harmless)."""
    return Task(
        resource=DDB_UPDATE,
        parameters={
            "TableName": table,
            "Key": _key("States.Format('gate#{}#{}', $.phase.next, $.cell.g)"),
            "UpdateExpression": "ADD #d :c",
            "ExpressionAttributeNames": {"#d": "done"},
            "ExpressionAttributeValues": {":c": {"SS.$": "States.Array($.cell.c)"}},
        },
        result_path=NULL,
        retry=retry("dynamodb"),
        next=next_,
    )


def _child(targets: Targets, migration_id: str, mode: str, extra: JSON, **kw: Any) -> Task:
    return Task(
        resource=START_SYNC,
        parameters={
            "StateMachineArn": machine_arn(targets, migration_id),
            # readable and unique (a parent's name would not fit the 80 characters)
            "Name.$": f"States.Format('{{}}-{{}}-{{}}-{mode}-{{}}', $.phase.name, $.k, $.b, States.UUID())",
            "Input": {"mode": mode, "migration_id.$": "$.migration_id", "phase.$": "$.phase", "step.$": "$.step",
                      "settings.$": "$.settings", **extra,
                      "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
        },
        retry=retry("states"),
        **kw,
    )


# --------------------------------------------------------------------------------------------
# mode `cells`: one batch of one step


def _request(targets: Targets, deployment: bool) -> Task:
    common: JSON = {"task_token.$": "$$.Task.Token", "migration_id.$": "$.migration_id", "phase.$": "$.phase.name",
                    "cell_id.$": "$.cell.c", "step.$": "$.step.label"}
    if deployment:
        source, detail_type = EVENT_SOURCE, DEPLOY_DETAIL_TYPE
        detail = {**common, "action": "deploy", "version.$": "$.phase.version",
                  "previous_version.$": "$.phase.previous_version", "wave.$": "$.step.label"}
    else:
        source, detail_type = MIGRATION_EVENT_SOURCE, MIGRATION_DETAIL_TYPE
        detail = {**common, "action.$": "$.phase.name", "engine.$": "$.db.engine", "script.$": "$.db.script",
                  "checkpoint_interval.$": "$.phase.checkpoint_interval"}
    return Task(
        resource=EVENTS_WAIT,
        parameters={"Entries": [{"EventBusName": targets.event_bus, "Source": source, "DetailType": detail_type,
                                 "Detail": detail}]},
        result_path="$.result",
        retry=retry("events"),
        catch=(Catch(("States.ALL",), "Cell: mark failed", result_path="$.error"),),
        next="Cell: rows?",
    )


def _cell_processor(targets: Targets, table: str) -> Graph:
    g = Graph(start_at="Cell: engine")
    g.add("Cell: engine", Pass(parameters={"mysql.$": "States.ArrayContains($.mysql, $.cell.c)"},
                               result_path="$.db", next="Cell: MySQL?"))
    g.add("Cell: MySQL?", Choice(choices=(ChoiceRule(eq("$.db.mysql", True), "Cell: MySQL"),),
                                 default="Cell: PostgreSQL"))
    for engine, state in ((Engine.AURORA_MYSQL, "Cell: MySQL"), (Engine.AURORA_POSTGRESQL, "Cell: PostgreSQL")):
        g.add(state, Pass(parameters={"engine": engine.value, "script.$": f"$.phase.scripts.{_engine_key(engine)}"},
                          result_path="$.db", next="Cell: approval?"))
    g.add("Cell: approval?", Choice(choices=(
        ChoiceRule(eq("$.step.cell_approval", True), "Cell: approval"),
        ChoiceRule(eq("$.step.approval", True), "Cell: record approval"),
    ), default="Cell: mark running"))
    g.add("Cell: approval", Task(
        resource=SNS_WAIT,
        parameters={"TopicArn": targets.approvals_topic_arn, "Message": {
            "kind": "migration", "task_token.$": "$$.Task.Token", "migration_id.$": "$.migration_id",
            "phase.$": "$.phase.name", "step.$": "$.step.label", "cell_id.$": "$.cell.c",
        }},
        result_path=NULL,
        retry=retry("sns"),
        catch=(Catch(("States.ALL",), "Cell: mark failed", result_path="$.error"),),
        next="Cell: record approval",
    ))
    g.add("Cell: record approval", Task(
        resource=DDB_PUT,
        parameters={"TableName": table, "Item": {
            **_key("States.Format('approval#{}#{}', $.phase.name, $.cell.c)"),
            "phase": {"S.$": "$.phase.name"}, "cells": {"SS.$": "States.Array($.cell.c)"},
        }},
        result_path=NULL,
        retry=retry("dynamodb"),
        next="Cell: mark running",
    ))
    g.add("Cell: mark running", _record(table, "running", {"started_at": ("S", "$$.State.EnteredTime")},
                                        name="Cell: deployment?"))
    g.add("Cell: deployment?", Choice(choices=(ChoiceRule(eq("$.phase.type", PhaseType.DEPLOYMENT.value),
                                                          "Cell: deploy"),), default="Cell: migrate"))
    g.add("Cell: deploy", _request(targets, deployment=True))
    g.add("Cell: migrate", _request(targets, deployment=False))
    g.add("Cell: rows?", Choice(choices=(ChoiceRule(eq("$.phase.type", PhaseType.DATA.value), "Cell: mark rows"),),
                                default="Cell: mark complete"))
    ended = {"ended_at": ("S", "$$.State.EnteredTime")}
    g.add("Cell: mark rows", _record(table, "complete", {
        **ended, "rows_done": ("N", "States.Format('{}', $.result.rows_done)"),
        "rows_total": ("N", "States.Format('{}', $.result.rows_total)")}, name="Cell: release now?"))
    g.add("Cell: mark complete", _record(table, "complete", ended, name="Cell: release now?"))
    g.add("Cell: release now?", Choice(choices=(
        ChoiceRule(eq("$.phase.release", "complete"), "Cell: join next gate"),
        ChoiceRule(eq("$.step.each", True), "Cell: bake"),
    ), default="Cell: ok"))
    g.add("Cell: join next gate", _join_gate(table, "Cell: bake?"))
    g.add("Cell: bake?", Choice(choices=(
        ChoiceRule({"And": [eq("$.step.each", True), eq("$.phase.release", "complete")]}, "Cell: bake"),
    ), default="Cell: ok"))
    g.add("Cell: bake", Wait(seconds_path="$.wait", next="Cell: baked"))
    g.add("Cell: baked", Choice(choices=(ChoiceRule(eq("$.phase.release", "baked"), "Cell: join gate baked"),),
                                default="Cell: ok"))
    g.add("Cell: join gate baked", _join_gate(table, "Cell: ok"))
    g.add("Cell: ok", Pass(result="ok", end=True))
    g.add("Cell: mark failed", _record(table, "failed", {**ended, "error": ("S", "$.error.Error")},
                                       name="Cell: failed"))
    g.add("Cell: failed", Pass(result="failed", end=True))
    return g


def _cells(targets: Targets, table: str) -> Map:
    return Map(
        item_processor=_cell_processor(targets, table),
        items_path="$.cells",
        item_selector={"cell.$": "$$.Map.Item.Value", "mysql.$": "$.mysql", "phase.$": "$.phase", "step.$": "$.step",
                       "wait.$": "$.wait", "migration_id.$": "$.migration_id"},
        max_concurrency_path="$.step.concurrency",
        result_path="$.results",
        next="Batch outcome",
    )


def _release_cells(table: str) -> Map:
    g = Graph(start_at="Release: join gate")
    g.add("Release: join gate", _join_gate(table, "Release: done"))
    g.add("Release: done", Pass(result="ok", end=True))
    return Map(item_processor=g, items_path="$.cells",
               item_selector={"cell.$": "$$.Map.Item.Value", "phase.$": "$.phase", "migration_id.$": "$.migration_id"},
               max_concurrency=MAX_CONCURRENCY, result_path=NULL, next="Released")


# --------------------------------------------------------------------------------------------
# mode `run`: lanes of phases, steps in order, batches in order


def _batch_processor(targets: Targets, migration_id: str, table: str) -> Graph:
    g = Graph(start_at="Batch: gated?")
    g.add("Batch: gated?", Choice(choices=(ChoiceRule(eq("$.phase.gated", True), "Gate: first poll"),),
                                  default="Batch: run"))
    g.add("Gate: first poll", Pass(parameters={"seconds.$": "$.settings.poll"}, result_path="$.poll",
                                   next="Gate: read"))
    g.add("Gate: read", Task(
        resource=DDB_GET,
        parameters={"TableName": table, "Key": _key("States.Format('gate#{}#{}', $.phase.name, $.batch.gate)"),
                    "ConsistentRead": True},
        result_path="$.gate",
        retry=retry("dynamodb"),
        next="Gate: any?",
    ))
    g.add("Gate: any?", Choice(choices=(ChoiceRule({"Variable": "$.gate.Item.done.SS", "IsPresent": True},
                                                   "Gate: count"),), default="Gate: wait"))
    g.add("Gate: count", Pass(parameters={"done.$": "States.ArrayLength($.gate.Item.done.SS)",
                                          "want.$": "States.ArrayLength($.batch.cells)"},
                              result_path="$.gate", next="Gate: open?"))
    g.add("Gate: open?", Choice(choices=(
        ChoiceRule({"Variable": "$.gate.done", "NumericGreaterThanEqualsPath": "$.gate.want"}, "Batch: run"),
    ), default="Gate: wait"))
    g.add("Gate: wait", Wait(seconds_path="$.poll.seconds", next="Gate: slower?"))
    g.add("Gate: slower?", Choice(choices=(
        ChoiceRule({"Variable": "$.poll.seconds", "NumericLessThanPath": "$.settings.poll_max"}, "Gate: slower"),
    ), default="Gate: read"))
    g.add("Gate: slower", Pass(parameters={"seconds.$": "States.MathAdd($.poll.seconds, $.poll.seconds)"},
                               result_path="$.poll", next="Gate: read"))
    g.add("Batch: run", _child(targets, migration_id, "cells",
                               {"cells.$": "$.batch.cells", "mysql.$": "$.batch.mysql", "wait.$": "$.wait"},
                               result_selector={"failed.$": "$.Output.failed"}, result_path="$.run",
                               catch=(Catch(("States.ALL",), "Batch: failed", result_path="$.error"),),
                               next="Batch: outcome"))
    g.add("Batch: outcome", Choice(choices=(ChoiceRule(eq("$.run.failed", True), "Batch: failed"),),
                                   default="Batch: ok"))
    g.add("Batch: ok", Pass(result="ok", end=True))
    g.add("Batch: failed", Pass(result="failed", end=True))
    return g


def _step_processor(targets: Targets, migration_id: str, table: str) -> Graph:
    g = Graph(start_at="Step: input")
    g.add("Step: input", Pass(parameters={"now.$": "States.ArrayGetItem($.inputs, $.k)"}, result_path="$.input",
                              next="Step: approval?"))
    g.add("Step: approval?", Choice(choices=(ChoiceRule(eq("$.step.approval", True), "Step: approval"),),
                                    default="Step: batches"))
    g.add("Step: approval", Task(
        resource=SNS_WAIT,
        parameters={"TopicArn": targets.approvals_topic_arn, "Message": {
            "kind": "migration", "task_token.$": "$$.Task.Token", "migration_id.$": "$.migration_id",
            "phase.$": "$.phase.name", "step.$": "$.step.label",
            "batches.$": "States.ArrayLength($.input.now.batches)",
        }},
        result_path=NULL,
        retry=retry("sns"),
        catch=(Catch(("States.ALL",), "Step: rejected", result_path="$.error"),),
        next="Step: batches",
    ))
    g.add("Step: rejected", Fail(error="ApprovalRejected", cause="a migration step's approval was rejected"))
    g.add("Step: batches", Map(
        item_processor=_batch_processor(targets, migration_id, table),
        items_path="$.input.now.batches",
        item_selector={"batch.$": "$$.Map.Item.Value", "b.$": "$$.Map.Item.Index", "k.$": "$.k",
                       "phase.$": "$.phase", "step.$": "$.step", "wait.$": "$.input.now.wait",
                       "settings.$": "$.settings", "migration_id.$": "$.migration_id"},
        max_concurrency=1,
        result_path="$.results",
        next="Step: check",
    ))
    g.add("Step: check", Pass(parameters={"failed.$": "States.ArrayContains($.results, 'failed')"},
                              result_path="$.check", next="Step: ok?"))
    g.add("Step: ok?", Choice(choices=(
        ChoiceRule(eq("$.check.failed", True), "Step: failed"),
        ChoiceRule(eq("$.step.each", True), "Step: done"),  # each cell baked in its batch
    ), default="Step: bake"))
    g.add("Step: failed", Fail(error="MigrationFailed", cause="a cell failed; see the migrations table"))
    g.add("Step: bake", Wait(seconds_path="$.input.now.wait", next="Step: release?"))
    g.add("Step: release?", Choice(choices=(ChoiceRule(eq("$.phase.release", "baked"), "Step: release"),),
                                   default="Step: done"))
    g.add("Step: release", Map(
        item_processor=_release_processor(targets, migration_id),
        items_path="$.input.now.batches",
        item_selector={"batch.$": "$$.Map.Item.Value", "b.$": "$$.Map.Item.Index", "k.$": "$.k",
                       "phase.$": "$.phase", "step.$": "$.step", "settings.$": "$.settings", "migration_id.$": "$.migration_id"},
        max_concurrency=1,
        result_path=NULL,
        next="Step: done",
    ))
    g.add("Step: done", Pass(result="ok", end=True))
    return g


def _release_processor(targets: Targets, migration_id: str) -> Graph:
    g = Graph(start_at="Release: batch")
    g.add("Release: batch", _child(targets, migration_id, "release", {"cells.$": "$.batch.cells"},
                                   result_path=NULL, end=True))
    return g


def _lane(targets: Targets, migration_id: str, table: str) -> Graph:
    g = Graph(start_at="Lane: steps")
    g.add("Lane: steps", Map(
        item_processor=_step_processor(targets, migration_id, table),
        items_path="$.phase.steps",
        item_selector={"step.$": "$$.Map.Item.Value", "k.$": "$$.Map.Item.Index", "inputs.$": "$.inputs",
                       "phase.$": "$.phase", "settings.$": "$.settings", "migration_id.$": "$.migration_id"},
        max_concurrency=1,
        result_path=NULL,
        end=True,
    ))
    return g


def definition(plan: MigrationPlan, targets: Targets | None = None, table: str = DEFAULT_MIGRATIONS_TABLE) -> JSON:
    """The ASL definition (a dict) of the migration's orchestrator; its size depends on the manifest only."""
    targets = targets or Targets()
    graph = Graph(start_at="Mode?", comment=f"cellfleet migration {plan.id}: {plan.migration.description}")
    graph.add("Mode?", Choice(choices=(
        ChoiceRule({"And": [{"Variable": "$.mode", "IsPresent": True}, eq("$.mode", "cells")]}, "Cells"),
        ChoiceRule({"And": [{"Variable": "$.mode", "IsPresent": True}, eq("$.mode", "release")]}, "Release"),
    ), default="Rules"))
    graph.add("Rules", Pass(result=facts(plan), result_path="$.facts", next="Phases"))
    graph.add("Phases", Map(
        item_processor=_lane(targets, plan.id, table),
        items_path="$.facts",
        item_selector={"phase.$": "$$.Map.Item.Value", "inputs.$": "States.ArrayGetItem($.plan, $$.Map.Item.Index)",
                       "settings.$": "$.settings", "migration_id.$": "$.migration_id"},
        max_concurrency=len(plan.phases),
        result_path=NULL,
        catch=(Catch(("States.ALL",), FAILED, result_path="$.error"),),
        next=DONE,
    ))
    graph.add(DONE, Pass(result={"status": "complete"}, end=True))
    graph.add(FAILED, Fail(error="MigrationFailed", cause="a cell failed or an approval was rejected; "
                                                          "see the migrations table"))
    graph.add("Cells", _cells(targets, table))
    graph.add("Batch outcome", Pass(parameters={"failed.$": "States.ArrayContains($.results, 'failed')"}, end=True))
    graph.add("Release", _release_cells(table))
    graph.add("Released", Pass(result={"failed": False}, end=True))
    return graph.to_dict()
