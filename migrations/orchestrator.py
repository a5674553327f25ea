"""The migration compiled into a Step Functions state machine (pipeline integration contract).

Per step of each phase: an optional approval (SNS publish `.waitForTaskToken` on the approvals
topic, then recorded in the migrations table), a Map over the step's cells with
`MaxConcurrency` = the step's concurrency (`parallel_cells` for the backfill), and a Wait of the
step's bake time. Each cell's work is requested over EventBridge `PutEvents`
`.waitForTaskToken`: deployment phases send `CellDeployRequested` (the deployer's own event),
schema and data phases send `CellMigrationRequested`. Every cell's status is written to the
migrations table (`migrations.stores` layout), so `fleet migrate status --store dynamodb` shows
the run. A failed cell is recorded as failed; the other cells of its step finish, and the
migration stops after that step (no later step or phase starts).

Backfill workers answer `SendTaskSuccess` with `{"rows_done": N, "rows_total": N}`.
Wait lengths and each step's cells come from the execution input (`execution_input`), like the
wave pipeline's settings, so the definition grows with the manifest's steps, never with the fleet.
"""

from __future__ import annotations

from typing import Any

from migrations.planner import MigrationPlan, PhasePlan, Step
from model.contract import (
    DEFAULT_MIGRATIONS_TABLE,
    DEPLOY_DETAIL_TYPE,
    EVENT_SOURCE,
    MIGRATION_DETAIL_TYPE,
    MIGRATION_EVENT_SOURCE,
)
from model.manifest import PhaseType
from pipelines.asl import (
    DDB_PUT,
    DDB_UPDATE,
    EVENTS_WAIT,
    NULL,
    SNS_WAIT,
    Catch,
    Choice,
    ChoiceRule,
    Fail,
    Graph,
    Map,
    Pass,
    Succeed,
    Task,
    Wait,
)
from pipelines.definitions import retry
from pipelines.targets import Targets

FAILED = "Migration failed"
DONE = "Migration complete"


def _wait_key(phase: PhasePlan, step: Step) -> str:
    return f"{phase.name.value.replace('-', '_')}_{step.index + 1}"


def execution_input(plan: MigrationPlan, time_scale: float = 1.0) -> dict[str, Any]:
    """The execution's input: the migration id, each step's wait in seconds (scaled for tests) and its cells.

    Cells travel here, not in the definition, so the definition's size does not grow with the fleet.
    """
    waits = {_wait_key(p, s): int(s.wait.total_seconds() * time_scale) for p in plan.phases for s in p.steps}
    steps = {
        _wait_key(p, s): {
            "items": [{"cell_id": c, "engine": plan.engines[c].value, "script": p.scripts.get(plan.engines[c], "")}
                      for c in s.cells],
            "cells": [{"S": c} for c in s.cells],  # the approval record's DynamoDB list
        }
        for p in plan.phases for s in p.steps
    }
    return {"migration_id": plan.id, "settings": {"waits": waits}, "steps": steps}


def _record(table: str, phase: PhasePlan, status: str, extra: dict[str, Any], *, name: str) -> Task:
    names = {"#s": "status", "#c": "cell_id", "#p": "phase"}
    values: dict[str, Any] = {":s": {"S": status}, ":c": {"S.$": "$.cell.cell_id"}, ":p": {"S": phase.name.value}}
    sets = ["#s = :s", "#c = :c", "#p = :p"]
    for attr, (kind, path) in extra.items():
        names[f"#{attr}"] = attr
        values[f":{attr}"] = {kind + (".$" if path.startswith(("$", "States.")) else ""): path}
        sets.append(f"#{attr} = :{attr}")
    return Task(
        resource=DDB_UPDATE,
        parameters={
            "TableName": table,
            "Key": {"migration_id": {"S.$": "$.migration_id"},
                    "key": {"S.$": f"States.Format('cell#{{}}#{phase.name.value}', $.cell.cell_id)"}},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        },
        result_path=NULL,
        retry=retry("dynamodb"),
        next=name,
    )


def _detail(phase: PhasePlan, step: Step) -> tuple[str, str, dict[str, Any]]:
    common: dict[str, Any] = {"task_token.$": "$$.Task.Token", "migration_id.$": "$.migration_id", "phase": phase.name.value,
              "cell_id.$": "$.cell.cell_id", "step": step.label}
    if phase.type is PhaseType.DEPLOYMENT:
        detail = {**common, "action": "deploy", "version": phase.version, "previous_version": phase.previous_version,
                  "wave": step.label}
        return EVENT_SOURCE, DEPLOY_DETAIL_TYPE, detail
    detail = {**common, "action": phase.name.value, "engine.$": "$.cell.engine", "script.$": "$.cell.script"}
    if phase.type is PhaseType.DATA:
        detail["checkpoint_interval"] = phase.checkpoint_interval
    return MIGRATION_EVENT_SOURCE, MIGRATION_DETAIL_TYPE, detail


def _processor(phase: PhasePlan, step: Step, prefix: str, targets: Targets,
               table: str) -> Graph:
    g = Graph(start_at=f"{prefix} mark running")
    g.add(f"{prefix} mark running", _record(table, phase, "running", {"started_at": ("S", "$$.State.EnteredTime")},
                                            name=f"{prefix} request"))
    source, detail_type, detail = _detail(phase, step)
    g.add(f"{prefix} request", Task(
        resource=EVENTS_WAIT,
        parameters={"Entries": [{"EventBusName": targets.event_bus, "Source": source, "DetailType": detail_type,
                                 "Detail": detail}]},
        result_path="$.result",
        catch=(Catch(("States.ALL",), f"{prefix} mark failed", result_path="$.error"),),
        next=f"{prefix} mark complete",
    ))
    done: dict[str, tuple[str, str]] = {"ended_at": ("S", "$$.State.EnteredTime")}
    if phase.type is PhaseType.DATA:
        done |= {"rows_done": ("N", "States.Format('{}', $.result.rows_done)"),
                 "rows_total": ("N", "States.Format('{}', $.result.rows_total)")}
    g.add(f"{prefix} mark complete", _record(table, phase, "complete", done, name=f"{prefix} cell ok"))
    g.add(f"{prefix} cell ok", Pass(result="ok", end=True))
    g.add(f"{prefix} mark failed", _record(table, phase, "failed",
                                           {"ended_at": ("S", "$$.State.EnteredTime"), "error": ("S", "$.error.Error")},
                                           name=f"{prefix} cell failed"))
    g.add(f"{prefix} cell failed", Pass(result="failed", end=True))
    return g


def _approval(phase: PhasePlan, step: Step, prefix: str, targets: Targets, table: str,
              then: str) -> tuple[str, Task, str, Task]:
    ask, record = f"{prefix} approval", f"{prefix} approved"
    return ask, Task(
        resource=SNS_WAIT,
        parameters={"TopicArn": targets.approvals_topic_arn, "Message": {
            "kind": "migration", "task_token.$": "$$.Task.Token", "migration_id.$": "$.migration_id",
            "phase": phase.name.value, "step": step.label, "cells.$": f"$.steps.{_wait_key(phase, step)}.items",
        }},
        result_path=NULL,
        retry=retry("sns"),
        catch=(Catch(("States.ALL",), FAILED, result_path="$.error"),),
        next=record,
    ), record, Task(
        resource=DDB_PUT,
        parameters={"TableName": table, "Item": {
            "migration_id": {"S.$": "$.migration_id"}, "key": {"S": f"approval#{phase.name.value}#{step.index + 1}"},
            "phase": {"S": phase.name.value}, "cells": {"L.$": f"$.steps.{_wait_key(phase, step)}.cells"},
        }},
        result_path=NULL,
        retry=retry("dynamodb"),
        next=then,
    )


def definition(plan: MigrationPlan, targets: Targets | None = None, table: str = DEFAULT_MIGRATIONS_TABLE) -> dict[str, Any]:
    """The ASL definition (a dict) of the migration's orchestrator."""
    targets = targets or Targets()
    steps = [(p, s) for p in plan.phases for s in p.steps]
    firsts = [_first(p, s) for p, s in steps]
    graph = Graph(start_at=firsts[0], comment=f"cellfleet migration {plan.id}: {plan.migration.description}")
    for n, (phase, step) in enumerate(steps):
        prefix = f"{phase.name.value} {step.index + 1}"
        after = firsts[n + 1] if n + 1 < len(steps) else DONE
        if step.approval:
            ask, ask_state, rec, rec_state = _approval(phase, step, prefix, targets, table, f"{prefix} run")
            graph.add(ask, ask_state)
            graph.add(rec, rec_state)
        graph.add(f"{prefix} run", Map(
            item_processor=_processor(phase, step, prefix, targets, table),
            items_path=f"$.steps.{_wait_key(phase, step)}.items",
            item_selector={"cell.$": "$$.Map.Item.Value", "migration_id.$": "$.migration_id"},
            max_concurrency=step.concurrency,
            result_path="$.results",
            next=f"{prefix} check",
        ))
        graph.add(f"{prefix} check", Pass(parameters={"failed.$": "States.ArrayContains($.results, 'failed')"},
                                          result_path="$.check", next=f"{prefix} ok?"))
        wait = f"{prefix} wait"
        graph.add(f"{prefix} ok?", Choice(
            choices=(ChoiceRule({"Variable": "$.check.failed", "BooleanEquals": True}, FAILED),),
            default=wait if step.wait else after,
        ))
        if step.wait:
            graph.add(wait, Wait(seconds_path=f"$.settings.waits.{_wait_key(phase, step)}", next=after))
    graph.add(DONE, Succeed())
    graph.add(FAILED, Fail(error="MigrationFailed", cause="a cell failed or an approval was rejected; "
                                                          "see the migrations table"))
    return graph.to_dict()


def _first(phase: PhasePlan, step: Step) -> str:
    prefix = f"{phase.name.value} {step.index + 1}"
    return f"{prefix} approval" if step.approval else f"{prefix} run"
