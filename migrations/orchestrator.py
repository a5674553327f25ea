"""The migration compiled into one Step Functions state machine whose size does not depend on the fleet.

The definition holds the manifest's rules (phases, their steps, approvals, concurrency) as a
compiled `Pass` result. The cells never travel in the execution input: `plan_document` lays them
out per phase, per step, in batches, `migrations.cellref` makes one S3 object per step (written by
`fleet migrate start` to the plan bucket, compiled in), and the input names each object's key and
pinned version. The machine:

* `Phases`: a Distributed Map over the phases, all at once; each phase is a lane (a child
  execution) that moves through its steps in order (a loop over the step index). A step may ask
  for approval (SNS `.waitForTaskToken`), then runs its batches one after the other: a Distributed
  Map whose `ItemReader` reads the step's object, one child execution per batch, then waits the
  step's bake. Per-batch and per-cell events are in the children's histories, never the run's.
* a batch (child): waits at its gate, then an inline Map over its cells (at most the step's
  concurrency at once). Each cell is marked running, its work requested over EventBridge
  `.waitForTaskToken` (`CellDeployRequested` for deployment phases, `CellMigrationRequested`
  otherwise; backfill workers answer `{"rows_done": N, "rows_total": N}`) and marked complete or
  failed in the migrations table. One-at-a-time steps (the enterprise wave) ask approval per cell
  and bake per cell. A platform migration's deployment phases have no cell deployer: the approvals
  topic gets a `platform-deploy` message saying what to deploy and where, and the answer completes
  the phase (`_platform_deploy`).
* release: after a `migrate-code-readonly` step's bake, a second Distributed Map over the same
  object releases its cells to `contract`.

Per-cell fencing: a cell finishing a phase adds itself to the *gate* of the batch that holds it in
the next phase (`gate#<phase>#<step>.<batch>`, a DynamoDB string set); a batch starts only when its
gate holds every cell of the batch. So the canary reaches `contract` (its own read-only code
deployed and baked) while SMB cells are still backfilling; `contract`, the point of no return,
starts on a cell only after that cell's `migrate-code-readonly` bake. A failed cell is recorded as
failed; the other cells of its batch finish, then its lane fails, the Map over the phases fails and
every lane stops (no later step starts).
"""

from __future__ import annotations

from dataclasses import dataclass

from migrations import cellref
from migrations.planner import PLATFORM, MigrationPlan, PhasePlan, Step
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
    S3_GET,
    SNS_WAIT,
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
MAX_BATCH = 100  # cells per batch child: its history (~55 events a cell, plus gate polls) and duration (a
# one-at-a-time batch bakes each cell) stay under half their quotas
INLINE_MAP_LIMIT = 40  # Step Functions runs at most 40 iterations of an inline Map at once
MAX_CONCURRENCY = INLINE_MAP_LIMIT // 2
POLL_SECONDS = 60  # the first wait at a closed gate; each further wait is twice as long, up to the most
POLL_MAX_SECONDS = POLL_SECONDS * 2**10  # doubling lands on it (17 h 4 min): a gate is seen open at most as
# late again as it had been waiting, never more than that; months at a gate stay within a child's history
MACHINE_NAME_LIMIT = 80
# A failing lane writes `run#<execution name>#failed`; lanes waiting at a gate read it and stop too
# (a failed child does not stop its Distributed Map siblings everywhere: moto lets them run).
PLATFORM_DEPLOY = "platform-deploy"  # the approvals topic's message kind of a platform phase's deployment
PLATFORM_BLAST_RADIUS = "the whole platform (every cell uses it)"


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


def _instructions(plan: MigrationPlan, phase: PhasePlan) -> str:
    """What a person deploys for a platform phase, and where (empty otherwise)."""
    if not plan.platform or phase.type is not PhaseType.DEPLOYMENT:
        return ""
    return (f"Deploy {phase.version} of the platform services that use the `{plan.migration.database}` database "
            f"(the Aurora Global Database primary) for migration {plan.id}, phase {phase.name.value}; "
            f"blast radius: {PLATFORM_BLAST_RADIUS}. Answer with the task token: success once it runs and is "
            "healthy, failure otherwise.")


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
            "platform": plan.platform,
            "instructions": _instructions(plan, phase),
            "steps": [{"label": s.label, "approval": s.approval and not s.each, "each": s.each,
                       "cell_approval": s.approval and s.each, "concurrency": s.concurrency}
                      for s in segments(phase)],
        })
    return out


def _batches(cells: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    return [cells[i:i + size] for i in range(0, len(cells), size)]


def plan_document(plan: MigrationPlan, time_scale: float = 1.0, max_batch: int = MAX_BATCH) -> JSON:
    """Per phase, per step, its wait (scaled for tests) and its batches of cells; and the gate polls' settings.

    Each cell names the gate it joins in the next phase (`g`); each batch names its own gate and
    its MySQL cells (the others run PostgreSQL). `migrations.cellref` writes each step's batches
    as one S3 object; only references to them travel in the execution input.
    """
    where: list[dict[str, str]] = []  # per phase: cell -> "step.batch"
    layout: list[list[tuple[Segment, list[tuple[str, ...]]]]] = []
    for phase in plan.phases:
        positions: dict[str, str] = {}
        steps = []
        for k, segment in enumerate(segments(phase)):
            # a batch is what runs at once: its gate waits for only those cells (no batch waits for
            # cells it will not run yet), and a one-at-a-time step gates each cell on its own
            batches = _batches(segment.cells, min(max_batch, segment.concurrency))
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
    return {"migration_id": plan.id, "settings": {"poll": poll, "poll_max": most}, "plan": document}


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


# --------------------------------------------------------------------------------------------
# a batch (a child execution of the step's Distributed Map): its gate, then its cells


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
    g.add("Cell: deployment?", Choice(choices=(
        ChoiceRule({"And": [eq("$.phase.type", PhaseType.DEPLOYMENT.value), eq("$.phase.platform", True)]},
                   "Cell: platform deploy"),
        ChoiceRule(eq("$.phase.type", PhaseType.DEPLOYMENT.value), "Cell: deploy"),
    ), default="Cell: migrate"))
    g.add("Cell: deploy", _request(targets, deployment=True))
    g.add("Cell: platform deploy", _platform_deploy(targets))
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


def _platform_deploy(targets: Targets) -> Task:
    """A platform phase's deployment: no cell deployer serves the platform, so a person deploys and answers.

    The message says what to deploy and where (the phase's `instructions`, compiled in); the
    answer (SendTaskSuccess / SendTaskFailure with the task token) completes or fails the phase.
    """
    return Task(
        resource=SNS_WAIT,
        parameters={"TopicArn": targets.approvals_topic_arn, "Message": {
            "kind": PLATFORM_DEPLOY, "task_token.$": "$$.Task.Token", "migration_id.$": "$.migration_id",
            "phase.$": "$.phase.name", "step.$": "$.step.label", "target": PLATFORM, "version.$": "$.phase.version",
            "previous_version.$": "$.phase.previous_version", "blast_radius": PLATFORM_BLAST_RADIUS,
            "instructions.$": "$.phase.instructions",
        }},
        result_path="$.result",
        retry=retry("sns"),
        catch=(Catch(("States.ALL",), "Cell: mark failed", result_path="$.error"),),
        next="Cell: rows?",
    )


def _cells(targets: Targets, table: str) -> Map:
    return Map(
        item_processor=_cell_processor(targets, table),
        items_path="$.batch.cells",
        item_selector={"cell.$": "$$.Map.Item.Value", "mysql.$": "$.batch.mysql", "phase.$": "$.phase",
                       "step.$": "$.step", "wait.$": "$.wait", "migration_id.$": "$.migration_id"},
        max_concurrency_path="$.step.concurrency",
        result_path="$.results",
        next="Batch: outcome",
    )


def _batch_processor(targets: Targets, table: str) -> Graph:
    """One batch of one step: wait until its gate holds every cell (per-cell fencing), then run its cells."""
    g = Graph(start_at="Batch: gated?")
    g.add("Batch: gated?", Choice(choices=(ChoiceRule(eq("$.phase.gated", True), "Gate: first poll"),),
                                  default="Batch: cells"))
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
        ChoiceRule({"Variable": "$.gate.done", "NumericGreaterThanEqualsPath": "$.gate.want"}, "Batch: cells"),
    ), default="Gate: wait"))
    g.add("Gate: wait", Wait(seconds_path="$.poll.seconds", next="Gate: stopped?"))
    g.add("Gate: stopped?", Task(
        resource=DDB_GET,
        parameters={"TableName": table, "Key": _key("States.Format('run#{}#failed', $.run)"), "ConsistentRead": True},
        result_path="$.stop",
        retry=retry("dynamodb"),
        next="Gate: go on?",
    ))
    g.add("Gate: go on?", Choice(choices=(ChoiceRule({"Variable": "$.stop.Item", "IsPresent": True}, "Gate: stop"),),
                                 default="Gate: slower?"))
    g.add("Gate: stop", Pass(result="failed", end=True))  # another lane failed
    g.add("Gate: slower?", Choice(choices=(
        ChoiceRule({"Variable": "$.poll.seconds", "NumericLessThanPath": "$.settings.poll_max"}, "Gate: slower"),
    ), default="Gate: read"))
    g.add("Gate: slower", Pass(parameters={"seconds.$": "States.MathAdd($.poll.seconds, $.poll.seconds)"},
                               result_path="$.poll", next="Gate: read"))
    g.add("Batch: cells", _cells(targets, table))
    g.add("Batch: outcome", Pass(parameters={"failed.$": "States.ArrayContains($.results, 'failed')"},
                                 result_path="$.check", next="Batch: failed?"))
    g.add("Batch: failed?", Choice(choices=(ChoiceRule(eq("$.check.failed", True), "Batch: failed"),),
                                   default="Batch: ok"))
    g.add("Batch: ok", Pass(result="ok", end=True))
    g.add("Batch: failed", Pass(result="failed", end=True))
    return g


def _release_processor(table: str) -> Graph:
    """A baked batch's cells join their gates in the next phase (`contract`)."""
    cell = Graph(start_at="Release: join gate")
    cell.add("Release: join gate", _join_gate(table, "Release: joined"))
    cell.add("Release: joined", Pass(result="ok", end=True))
    g = Graph(start_at="Release: cells")
    g.add("Release: cells", Map(
        item_processor=cell, items_path="$.batch.cells",
        item_selector={"cell.$": "$$.Map.Item.Value", "phase.$": "$.phase", "migration_id.$": "$.migration_id"},
        max_concurrency=MAX_CONCURRENCY, result_path=NULL, next="Release: done"))
    g.add("Release: done", Pass(result="ok", end=True))
    return g


# --------------------------------------------------------------------------------------------
# the run: lanes of phases (children), steps in order, each step's batches read from its object


class DistributedMap(Map):
    """A Map whose iterations are child executions (their events are not in the parent's history)."""

    def to_dict(self) -> JSON:
        out = {**super().to_dict(), "Type": "Map"}
        out["ItemProcessor"]["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        return out


def _reader(targets: Targets) -> JSON:
    """The step's object at the version the input pins, from the plan bucket compiled in."""
    return {"Resource": S3_GET, "ReaderConfig": {"InputType": "JSON"}, "Parameters": {
        "Bucket": targets.plan_bucket, "Key.$": "$.input.now.key", "VersionId.$": "$.input.now.version_id"}}


def _lane(targets: Targets, migration_id: str, table: str) -> Graph:
    """One phase (a child execution): its steps one after the other, a loop over the step index."""
    g = Graph(start_at="Lane: start")
    g.add("Lane: start", Pass(parameters={"k": 0, "count.$": "States.ArrayLength($.steps)"}, result_path="$.at",
                              next="Step: input"))
    g.add("Step: input", Pass(parameters={"now.$": "States.ArrayGetItem($.steps, $.at.k)",
                                          "rule.$": "States.ArrayGetItem($.phase.steps, $.at.k)"},
                              result_path="$.input", next="Step: ours?"))
    g.add("Step: ours?", Choice(choices=(
        ChoiceRule({"Variable": "$.input.now.key", "StringMatches": f"{cellref.prefix(migration_id)}*"},
                   "Step: approval?"),
    ), default="Step: not ours"))
    g.add("Step: not ours", Fail(error="PlanRefused", cause=f"a step object outside {cellref.prefix(migration_id)}"))
    g.add("Step: approval?", Choice(choices=(ChoiceRule(eq("$.input.rule.approval", True), "Step: approval"),),
                                    default="Step: batches"))
    g.add("Step: approval", Task(
        resource=SNS_WAIT,
        parameters={"TopicArn": targets.approvals_topic_arn, "Message": {
            "kind": "migration", "task_token.$": "$$.Task.Token", "migration_id.$": "$.migration_id",
            "phase.$": "$.phase.name", "step.$": "$.input.rule.label", "batches.$": "$.input.now.batches",
        }},
        result_path=NULL,
        retry=retry("sns"),
        catch=(Catch(("States.ALL",), "Step: failed", result_path="$.error"),),  # rejected
        next="Step: batches",
    ))
    g.add("Step: batches", DistributedMap(
        item_processor=_batch_processor(targets, table),
        item_reader=_reader(targets),
        item_selector={"batch.$": "$$.Map.Item.Value", "phase.$": "$.phase", "step.$": "$.input.rule",
                       "wait.$": "$.input.now.wait", "settings.$": "$.settings", "migration_id.$": "$.migration_id",
                       "run.$": "$.run"},
        max_concurrency=1,
        result_path="$.results",
        next="Step: check",
    ))
    g.add("Step: check", Pass(parameters={"failed.$": "States.ArrayContains($.results, 'failed')"},
                              result_path="$.check", next="Step: ok?"))
    g.add("Step: ok?", Choice(choices=(
        ChoiceRule(eq("$.check.failed", True), "Step: failed"),
        ChoiceRule(eq("$.input.rule.each", True), "Step: next"),  # each cell baked in its batch
    ), default="Step: bake"))
    g.add("Step: failed", Task(
        resource=DDB_PUT,
        parameters={"TableName": table,
                    "Item": {**_key("States.Format('run#{}#failed', $.run)"), "phase": {"S.$": "$.phase.name"}}},
        result_path=NULL,
        retry=retry("dynamodb"),
        next="Lane: failed",
    ))
    # ends with a result, not a Fail: the run reads its lanes' results (a failed child execution
    # fails the Map Run on AWS, but moto's Distributed Map only drops its output)
    g.add("Lane: failed", Pass(result="failed", end=True))
    g.add("Step: bake", Wait(seconds_path="$.input.now.wait", next="Step: release?"))
    g.add("Step: release?", Choice(choices=(ChoiceRule(eq("$.phase.release", "baked"), "Step: release"),),
                                   default="Step: next"))
    g.add("Step: release", DistributedMap(
        item_processor=_release_processor(table),
        item_reader=_reader(targets),
        item_selector={"batch.$": "$$.Map.Item.Value", "phase.$": "$.phase", "migration_id.$": "$.migration_id"},
        max_concurrency=1,
        result_path=NULL,
        next="Step: next",
    ))
    g.add("Step: next", Pass(parameters={"k.$": "States.MathAdd($.at.k, 1)", "count.$": "$.at.count"},
                             result_path="$.at", next="Step: more?"))
    g.add("Step: more?", Choice(choices=(
        ChoiceRule({"Variable": "$.at.k", "NumericLessThanPath": "$.at.count"}, "Step: input"),
    ), default="Lane: done"))
    g.add("Lane: done", Pass(result="ok", end=True))
    return g


def definition(plan: MigrationPlan, targets: Targets | None = None, table: str = DEFAULT_MIGRATIONS_TABLE) -> JSON:
    """The ASL definition (a dict) of the migration's orchestrator; its size depends on the manifest only."""
    targets = targets or Targets()
    graph = Graph(start_at="Rules", comment=f"cellfleet migration {plan.id}: {plan.migration.description}")
    graph.add("Rules", Pass(result=facts(plan), result_path="$.facts", next="Phases"))
    graph.add("Phases", DistributedMap(
        item_processor=_lane(targets, plan.id, table),
        items_path="$.facts",
        item_selector={"phase.$": "$$.Map.Item.Value",
                       "steps.$": "States.ArrayGetItem($.plan.steps, $$.Map.Item.Index)",
                       "settings.$": "$.settings", "migration_id.$": "$.migration_id", "run.$": "$$.Execution.Name"},
        max_concurrency=len(plan.phases),
        result_path="$.lanes",
        catch=(Catch(("States.ALL",), FAILED, result_path="$.error"),),
        next="Run: check",
    ))
    graph.add("Run: check", Pass(parameters={"failed.$": "States.ArrayContains($.lanes, 'failed')"},
                                 result_path="$.lanes", next="Run: ok?"))
    graph.add("Run: ok?", Choice(choices=(ChoiceRule(eq("$.lanes.failed", True), FAILED),), default=DONE))
    graph.add(DONE, Pass(result={"status": "complete"}, end=True))
    graph.add(FAILED, Fail(error="MigrationFailed", cause="a cell failed or an approval was rejected; "
                                                          "see the migrations table"))
    return graph.to_dict()
