"""The three state machines of a rollout, built with the typed ASL builder.

* `rollout` (one per fleet): for each wave of the plan, in order, check the wave's stored plan
  object against the plan's cells (a digest compiled in; each item of a Distributed Map hashes
  its own chunk, so the rollout holds one digest per chunk, never the cells), then start the
  `wave` machine with the policy's settings compiled in, only the overridable timings taken from
  the input's `settings`, and the object's key and version id; fail with the wave's error and
  cause. Its size grows with the number of waves.
* `wave` (generic): notify; optional wave approval; deploy the wave's chunks one after the other
  (a Distributed Map over the plan object, each item running its chunk's batches one after the
  other as `batch` child executions); bake while polling every cell's alarms at an interval (one
  Distributed Map per round); record; notify. On any failure: roll back the wave's touched
  cells, notify, fail. An item never fails on a batch's failure: it records the error and cause
  on the wave's record (`WAVE_RECORD`), later deploy items skip, and the wave reads it back.
* `batch` (generic): one Map over its cells in one of four modes: `deploy`, `health`,
  `record`, `rollback`.

Cells never appear in a definition nor in any execution's input or state beyond one chunk
(`pipelines.planref`: one S3 object per wave, read by Distributed Maps at the version the input
pins), so the definitions stay the same size for 10 or 100,000 cells, the input grows with the
waves only, and a wave's history with its bake rounds only.
"""

from __future__ import annotations

from typing import Any

from model.contract import (
    CELL_KEY,
    DECLARED_RELEASES,
    DEPLOY_DETAIL_TYPE,
    EVENT_SOURCE,
    NO_RELEASE,
    RolloutStatus,
    alarm_prefix,
    wave_execution_name,
)
from pipelines.asl import (
    DDB_GET,
    DDB_UPDATE,
    DESCRIBE_ALARMS,
    EVENTS_WAIT,
    JSON,
    NULL,
    S3_GET,
    SNS_PUBLISH,
    SNS_WAIT,
    START_SYNC,
    Catch,
    Choice,
    ChoiceRule,
    Fail,
    Graph,
    Map,
    Pass,
    Retry,
    Succeed,
    Task,
    Wait,
)
from pipelines.health_checks import analysis_states, bake_carry, bake_start, quiet_tick, share_bake
from pipelines.plancheck import DIGEST_CHUNK, DIGESTS_PER_PART, cells_digest
from pipelines.settings import OVERRIDABLE, fixed_settings, overridable_defaults
from pipelines.targets import Targets
from pipelines.waves import Plan, Wave

# Child executions reading one wave's batches at a time: a batch item is small, so a few dozen keep the
# load short without queueing thousands of children (Step Functions runs at most 10,000 at once).
LOAD_CONCURRENCY = 40

_THROTTLING = {
    "sns": ("SNS.ThrottledException", "SNS.ThrottlingException", "SNS.InternalErrorException"),
    "events": ("EventBridge.ThrottlingException", "EventBridge.InternalException"),
    "dynamodb": (
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.ThrottlingException",
        "DynamoDB.RequestLimitExceeded",
        "DynamoDB.InternalServerErrorException",
    ),
    "cloudwatch": ("CloudWatch.ThrottlingException", "CloudWatch.LimitExceededException"),
    "states": ("StepFunctions.ThrottlingException", "StepFunctions.ExecutionLimitExceededException"),
}


def retry(service: str) -> tuple[Retry, ...]:
    """Exponential backoff with jitter on the service's throttling errors."""
    return (Retry(_THROTTLING[service], interval_seconds=2, max_attempts=6, backoff_rate=2.0, max_delay_seconds=60),)


def eq(path: str, value: str | bool) -> JSON:
    key = "BooleanEquals" if isinstance(value, bool) else "StringEquals"
    return {"Variable": path, key: value}


def publish(targets: Targets, message: JSON, next_: str | None = None) -> Task:
    """A notification on the notifications topic (Slack, customer notices)."""
    return Task(
        resource=SNS_PUBLISH,
        parameters={"TopicArn": targets.notifications_topic_arn, "Message": message},
        result_path=NULL,
        retry=retry("sns"),
        next=next_,
        end=next_ is None,
    )


def start_child(targets: Targets, kind: str, name_format: str, name_args: str, payload: JSON, **kw: Any) -> Task:
    """Start a child execution and wait for it (`.sync:2`), with a readable, idempotent name."""
    return Task(
        resource=START_SYNC,
        parameters={
            "StateMachineArn": targets.machine_arn(kind),
            "Name.$": f"States.Format('{name_format}', {name_args})",
            "Input": {**payload, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
        },
        retry=retry("states"),
        **{"result_path": NULL, **kw},
    )


def normalise_child_failure(graph: Graph, prefix: str, next_: str) -> str:
    """States turning a caught child failure in `$.error` into `$.failure = {error, cause}`.

    A failed `.sync:2` child surfaces as `States.TaskFailed` whose cause is the child's
    DescribeExecution output; its `Error` and `Cause` are what names the cell.
    """
    entry = f"{prefix}: child failed?"
    graph.add(entry, Choice(
        choices=(ChoiceRule(eq("$.error.Error", "States.TaskFailed"), f"{prefix}: read child failure"),),
        default=f"{prefix}: keep failure",
    ))
    graph.add(f"{prefix}: read child failure", Pass(
        parameters={"child.$": "States.StringToJson($.error.Cause)"},
        result_path="$.failure", next=f"{prefix}: name child failure",
    ))
    graph.add(f"{prefix}: name child failure", Pass(
        parameters={"error.$": "$.failure.child.Error", "cause.$": "$.failure.child.Cause"},
        result_path="$.failure", next=f"{prefix}: reserved error name?",
    ))
    graph.add(f"{prefix}: keep failure", Pass(
        parameters={"error.$": "$.error.Error", "cause.$": "$.error.Cause"},
        result_path="$.failure", next=f"{prefix}: reserved error name?",
    ))
    # A Fail state may not raise `States.*` names itself: report those as PipelineError.
    graph.add(f"{prefix}: reserved error name?", Choice(
        choices=(ChoiceRule({"Variable": "$.failure.error", "StringMatches": "States.*"}, f"{prefix}: rename error"),),
        default=next_,
    ))
    graph.add(f"{prefix}: rename error", Pass(
        parameters={"error": "PipelineError", "cause.$": "States.Format('{}: {}', $.failure.error, $.failure.cause)"},
        result_path="$.failure", next=next_,
    ))
    return entry


CATCH_ALL = ("States.ALL",)


# --------------------------------------------------------------------------------------------
# rollout


def _hash_parts(prefix: str, items: str, result_path: str, next_: str) -> Map:
    """An inline Map hashing each part of `items` (a partitioned list): `[{"d": sha256}]` at `result_path`."""
    part = Graph(start_at=f"{prefix}digest part")
    part.add(f"{prefix}digest part", Pass(parameters={"d.$": "States.Hash(States.JsonToString($.part), 'SHA-256')"},
                                          end=True))
    return Map(
        item_processor=part, items_path=items,
        item_selector={"part.$": "$$.Map.Item.Value"}, max_concurrency=1, result_path=result_path, next=next_,
    )


def _chunk_digest(prefix: str) -> Graph:
    """One item of the load Map: its chunk's cells hashed in parts (`pipelines.plancheck.chunk_digest`)."""
    graph = Graph(start_at=f"{prefix}chunk cells")
    graph.add(f"{prefix}chunk cells", Pass(parameters={"cells.$": "$.batches[*][*]"}, next=f"{prefix}chunk partition"))
    graph.add(f"{prefix}chunk partition", Pass(
        parameters={"parts.$": f"States.ArrayPartition($.cells, {DIGEST_CHUNK})"}, next=f"{prefix}chunk parts",
    ))
    graph.add(f"{prefix}chunk parts", _hash_parts(f"{prefix}chunk ", "$.parts", "$.parts",
                                                  f"{prefix}chunk digest"))
    graph.add(f"{prefix}chunk digest", Pass(
        parameters={"d.$": "States.Hash(States.JsonToString($.parts), 'SHA-256')"}, end=True,
    ))
    return graph


def _check_wave_cells(graph: Graph, wave: Wave, targets: Targets, timeout: int, next_: str) -> str:
    """States checking that `wave`'s stored plan object holds the plan's cells, in order.

    The input names the wave's object (`pipelines.planref`); a Distributed Map reads the version it
    pins from the plan bucket (compiled in, never from the input), each item (a chunk of cells)
    hashing its own cells, so the rollout's state holds one 64-character digest per chunk, never
    the cells. The definition carries only the digest of the plan's cells (`pipelines.plancheck`),
    so a batch naming `control-plane` or any cell of another wave is refused before anything is
    deployed, and the definition does not grow with the fleet.
    """
    prefix = f"{wave.name}: "
    graph.add(f"{prefix}settings", Pass(
        parameters={"defaults": overridable_defaults(wave, timeout), "ref.$": f"States.ArrayGetItem($.plan.waves, {wave.index})"},
        result_path="$.current", next=f"{prefix}digest chunks",
    ))
    graph.add(f"{prefix}digest chunks", Map(
        item_processor=_chunk_digest(prefix),
        item_reader=_plan_reader(targets, "$.current.ref"),
        max_concurrency=LOAD_CONCURRENCY,
        result_selector={"digests.$": "$[*].d"},
        result_path="$.check", catch=(Catch(CATCH_ALL, f"{prefix}plan unreadable"),),
        next=f"{prefix}partition digests",
    ))
    graph.add(f"{prefix}plan unreadable", Pass(
        parameters={"error": "PlanUnreadable",
                    "cause.$": f"States.Format('wave {wave.name}: the plan object cannot be read: {{}}; nothing was "
                               "deployed', $.error.Error)"},
        result_path="$.failure", next="Rollout failed",
    ))
    graph.add(f"{prefix}partition digests", Pass(
        parameters={"parts.$": f"States.ArrayPartition($.check.digests, {DIGESTS_PER_PART})"},
        result_path="$.check", next=f"{prefix}digest parts",
    ))
    graph.add(f"{prefix}digest parts", _hash_parts(prefix, "$.check.parts", "$.check.parts",
                                                   f"{prefix}digest cells"))
    graph.add(f"{prefix}digest cells", Pass(
        parameters={
            "digest.$": "States.Hash(States.JsonToString($.check.parts), 'SHA-256')",
            "name.$": "$.current.ref.name",
            "settings.$": "States.JsonMerge($.current.defaults, $.settings, false)",
        },
        result_path="$.check", next=f"{prefix}plan's cells?",
    ))
    graph.add(f"{prefix}plan's cells?", Choice(
        choices=(ChoiceRule({"And": [eq("$.check.digest", cells_digest(wave.cells)), eq("$.check.name", wave.name)]},
                            next_),),
        default=f"{prefix}not the plan",
    ))
    graph.add(f"{prefix}not the plan", Pass(
        parameters={"error": "PlanMismatch",
                    "cause": f"wave {wave.name}: the input's batches are not the plan's cells; nothing was deployed"},
        result_path="$.failure", next="Rollout failed",
    ))
    return f"{prefix}settings"


def _plan_reader(targets: Targets, ref: str) -> JSON:
    """An ItemReader over the pinned version of a wave's plan object (the bucket compiled in, never from input)."""
    return {"Resource": S3_GET, "ReaderConfig": {"InputType": "JSON"}, "Parameters": {
        "Bucket": targets.plan_bucket, "Key.$": f"{ref}.key", "VersionId.$": f"{ref}.version_id"}}


def _wave_settings(wave: Wave) -> JSON:
    """The wave's settings: the policy's compiled in, only the `OVERRIDABLE` timings from the merged input."""
    picked = {f"{key}.$": f"$.check.settings.{key}" for key in OVERRIDABLE}
    return {**fixed_settings(wave), **picked}


def rollout_definition(plan: Plan, targets: Targets) -> JSON:
    first = f"{plan.waves[0].name}: settings"
    graph = Graph(start_at="Settings given?", comment="cellfleet rollout: one wave execution per wave, in order")
    graph.add("Settings given?", Choice(
        choices=(ChoiceRule({"Variable": "$.settings", "IsPresent": True}, first),),
        default="No settings",
    ))
    graph.add("No settings", Pass(result={}, result_path="$.settings", next=first))
    timeout = int(plan.policy.deploy_timeout.total_seconds())
    for i, wave in enumerate(plan.waves):
        after = f"{plan.waves[i + 1].name}: settings" if i + 1 < len(plan.waves) else "Notify rollout succeeded"
        _check_wave_cells(graph, wave, targets, timeout, f"{wave.name}: run wave")
        graph.add(f"{wave.name}: run wave", start_child(
            targets, "wave", wave_execution_name("{}", i), "$$.Execution.Name",
            {
                "version.$": "$.version",
                "rollout.$": "$$.Execution.Name",
                "settings": _wave_settings(wave),
                "plan": {"key.$": "$.current.ref.key", "version_id.$": "$.current.ref.version_id"},
                "cells": len(wave.cells),
            },
            catch=(Catch(CATCH_ALL, "Wave: child failed?"),),
            next=after,
        ))
    graph.add("Notify rollout succeeded", publish(targets, {
        "event": "rollout_succeeded", "rollout.$": "$$.Execution.Name", "version.$": "$.version",
    }, "Rollout succeeded"))
    graph.add("Rollout succeeded", Succeed())
    normalise_child_failure(graph, "Wave", "Rollout failed")
    graph.add("Rollout failed", Fail(error_path="$.failure.error", cause_path="$.failure.cause"))
    return graph.to_dict()


# --------------------------------------------------------------------------------------------
# wave


def _wave_message(event: str, **extra: Any) -> JSON:
    return {
        "event": event,
        "rollout.$": "$.rollout",
        "version.$": "$.version",
        "wave.$": "$.settings.wave",
        "channels.$": "$.settings.channels",
        **extra,
    }


# The wave's failure record in the rollout-state table: a key no cell id can take (`model.cells.CELL_ID`).
# A Distributed Map that fails loses its items' error and cause, so an item records them here instead
# of failing, and the wave reads them back after the Map.
WAVE_RECORD = "wave:{}"
# Chunks one health or record Distributed Map runs at once (child executions; the quota is 10,000).
CHUNK_CONCURRENCY = 1000


def _batches_map(targets: Targets, mode: str, code: str, concurrency: int, **kw: Any) -> Map:
    """An inline Map over one chunk's batches starting one `batch` child execution each.

    A failed child is turned into the child's own error and cause inside the iteration, so
    the Map fails with e.g. `DeployFailed` / `cell x: ...` rather than `States.TaskFailed`.
    A rollback iteration outputs the cells of its batch whose rollback failed or went unanswered.
    Children are named `<wave execution>-<code><chunk>-<batch>` (`code` like `d`, `h{round}-`).
    """
    collect: dict[str, Any] = {"end": True}
    if mode == "rollback":
        collect = {"result_selector": {"failed.$": "$.Output.rollback_failed"}, "result_path": "$.outcome",
                   "next": "rollback: any failed?"}
    windows = {"openings.$": "$.batch_windows.list"} if mode == "deploy" else {}
    processor = Graph(start_at="deploy: windows?" if mode == "deploy" else f"{mode} batch")
    if mode == "deploy":
        processor.add("deploy: windows?", Choice(
            choices=(ChoiceRule({"Variable": "$.windows[0]", "IsPresent": True}, "deploy: batch windows"),),
            default="deploy: no windows",
        ))
        processor.add("deploy: batch windows", Pass(parameters={"list.$": "States.ArrayGetItem($.windows, $.batch)"},
                                                    result_path="$.batch_windows", next="deploy batch"))
        processor.add("deploy: no windows", Pass(result={"list": []}, result_path="$.batch_windows",
                                                 next="deploy batch"))
    name_args = "$.wave, $.round, $.chunk, $.batch" if mode == "health" else "$.wave, $.chunk, $.batch"
    processor.add(f"{mode} batch", start_child(
        targets, "batch", f"{{}}-{code}{{}}-{{}}", name_args,
        {
            "mode": mode,
            "cells.$": "$.cells",
            "batch.$": "$.batch",
            "version.$": "$.version",
            "rollout.$": "$.rollout",
            "settings.$": "$.settings",
            **windows,
        },
        catch=(Catch(CATCH_ALL, f"{mode}: child failed?"),),
        **collect,
    ))
    if mode == "rollback":  # `{failed: [cells]}` when some rollback failed, else `{}` (see `Failed rollbacks`)
        processor.add("rollback: any failed?", Choice(
            choices=(ChoiceRule({"Variable": "$.outcome.failed[0]", "IsPresent": True}, "rollback: failed cells"),),
            default="rollback: none failed",
        ))
        processor.add("rollback: failed cells", Pass(parameters={"failed.$": "$.outcome.failed"}, end=True))
        processor.add("rollback: none failed", Pass(result={}, end=True))
    normalise_child_failure(processor, mode, f"{mode} batch failed")
    processor.add(f"{mode} batch failed", Fail(error_path="$.failure.error", cause_path="$.failure.cause"))
    selector = {
        "cells.$": "$$.Map.Item.Value",
        "batch.$": "$$.Map.Item.Index",
        "chunk.$": "$.chunk",
        "wave.$": "$.wave",
        "version.$": "$.version",
        "rollout.$": "$.rollout",
        "settings.$": "$.settings",
    }
    if mode == "health":
        selector["round.$"] = "$.round"
    if mode == "deploy":
        selector["windows.$"] = "$.openings"
    return Map(
        item_processor=processor,
        items_path="$.batches",
        item_selector=selector,
        max_concurrency=concurrency,
        **{"result_path": NULL, **kw},
    )


def _record_key(path: str) -> JSON:
    return {CELL_KEY: {"S.$": f"States.Format('{WAVE_RECORD.format('{}')}', {path})"}}


def _read_wave_record(graph: Graph, targets: Targets, names: tuple[str, str], wave: str, result_path: str,
                      recorded: str, absent: str) -> None:
    """Read the wave's failure record (the wave's execution name at `wave`), then branch on whether it exists."""
    read, branch = names
    graph.add(read, Task(
        resource=DDB_GET,
        parameters={"TableName": targets.rollout_table, "Key": _record_key(wave), "ConsistentRead": True},
        result_path=result_path, retry=retry("dynamodb"), next=branch,
    ))
    graph.add(branch, Choice(
        choices=(ChoiceRule({"Variable": f"{result_path}.Item", "IsPresent": True}, recorded),),
        default=absent,
    ))


def _chunk(targets: Targets, mode: str, code: str, concurrency: int) -> Graph:
    """One item of a wave's Distributed Map: a chunk of the plan object, its batches run one Map.

    The item never fails on a batch's failure: it records the failure on the wave's record
    (`WAVE_RECORD`; the first one recorded wins) and ends, and an item of a later chunk that finds
    the record skips its batches, so deploying stops at the first failed batch. A rollback item
    outputs `{failed: [cells]}` (the cells whose rollback failed or went unanswered), else `{}`.
    """
    m = f"{mode} chunk"
    if mode == "rollback":
        graph = Graph(start_at=f"{m}: batches")
        graph.add(f"{m}: batches", _batches_map(targets, mode, code, concurrency, result_path="$.outcomes",
                                                next=f"{m}: lists"))
        graph.add(f"{m}: lists", Pass(parameters={"lists.$": "$.outcomes[*].failed"}, next=f"{m}: any failed?"))
        graph.add(f"{m}: any failed?", Choice(
            choices=(ChoiceRule({"Variable": "$.lists[0]", "IsPresent": True}, f"{m}: failed cells"),),
            default=f"{m}: none failed",
        ))
        graph.add(f"{m}: failed cells", Pass(parameters={"failed.$": "$.lists[*][*]"}, end=True))
        graph.add(f"{m}: none failed", Pass(result={}, end=True))
        return graph
    graph = Graph(start_at=f"{m}: failed earlier?")
    _read_wave_record(graph, targets, (f"{m}: failed earlier?", f"{m}: skip?"), "$.wave", "$.earlier",
                      f"{m}: done", f"{m}: batches")
    graph.add(f"{m}: batches", _batches_map(
        targets, mode, code, concurrency, catch=(Catch(CATCH_ALL, f"{m}: record failure"),), next=f"{m}: done",
    ))
    graph.add(f"{m}: record failure", Task(
        resource=DDB_UPDATE,
        parameters={
            "TableName": targets.rollout_table,
            "Key": _record_key("$.wave"),
            "UpdateExpression": "SET #error = :error, #cause = :cause, rollout_id = :rollout, updated_at = :at",
            "ConditionExpression": "attribute_not_exists(#error)",
            "ExpressionAttributeNames": {"#error": "error", "#cause": "cause"},
            "ExpressionAttributeValues": {":error": {"S.$": "$.error.Error"}, ":cause": {"S.$": "$.error.Cause"},
                                          ":rollout": {"S.$": "$.rollout"}, ":at": {"S.$": "$$.State.EnteredTime"}},
        },
        result_path=NULL, retry=retry("dynamodb"),
        catch=(Catch(("DynamoDB.ConditionalCheckFailedException",), f"{m}: done", result_path=NULL),),
        next=f"{m}: done",
    ))
    graph.add(f"{m}: done", Pass(result={}, end=True))
    return graph


def _chunks_map(targets: Targets, mode: str, code: str, *, concurrency: int, chunks: int, **kw: Any) -> Map:
    """A Distributed Map over the wave's plan object (the pinned version the input names), one chunk per item.

    Its items run as child executions, whose events do not count in the wave's history.
    """
    selector = {
        "batches.$": "$$.Map.Item.Value.batches",
        "openings.$": "$$.Map.Item.Value.openings",
        "chunk.$": "$$.Map.Item.Index",
        "wave.$": "$$.Execution.Name",
        "version.$": "$.version",
        "rollout.$": "$.rollout",
        "settings.$": "$.settings",
    }
    if mode == "health":
        selector["round.$"] = "$.bake.round"
    return Map(
        item_processor=_chunk(targets, mode, code, concurrency),
        item_reader=_plan_reader(targets, "$.plan"),
        item_selector=selector,
        max_concurrency=chunks,
        **{"result_path": NULL, **kw},
    )


def _outcome(graph: Graph, targets: Targets, stage: str, next_: str) -> str:
    """After a stage's Distributed Map: the failure an item recorded on the wave's record, if any, rolls back."""
    _read_wave_record(graph, targets, (f"{stage}: outcome", f"{stage}: failed?"), "$$.Execution.Name", "$.outcome",
                      f"{stage}: recorded failure", next_)
    graph.add(f"{stage}: recorded failure", Pass(
        parameters={"error.$": "$.outcome.Item.error.S", "cause.$": "$.outcome.Item.cause.S"},
        result_path="$.failure", next="Roll back batches",
    ))
    return f"{stage}: outcome"


def _caught(graph: Graph, name: str, next_: str) -> str:
    """`$.error` (a Distributed Map that failed as a whole, e.g. its object unreadable) as `$.failure`."""
    graph.add(name, Pass(parameters={"error.$": "$.error.Error", "cause.$": "$.error.Cause"},
                         result_path="$.failure", next=next_))
    return name


def wave_definition(targets: Targets) -> JSON:
    graph = Graph(start_at="Nothing rolled back", comment="cellfleet wave: deploy batches, bake, record; roll back on failure")
    graph.add("Nothing rolled back", Pass(result={"cells": []}, result_path="$.rollback", next="Notify wave started"))
    graph.add("Notify wave started", publish(targets, _wave_message("wave_started"), "Wave approval?"))
    graph.add("Wave approval?", Choice(
        choices=(ChoiceRule({"And": [eq("$.settings.approval", True), eq("$.settings.one_at_a_time", False)]},
                            "Request wave approval"),),
        default="Deploy batches",
    ))
    graph.add("Request wave approval", Task(
        resource=SNS_WAIT,
        parameters={"TopicArn": targets.approvals_topic_arn, "Message": _wave_message(
            "approval_requested", kind="wave", **{"task_token.$": "$$.Task.Token", "cell_count.$": "$.cells"},
        )},
        timeout_seconds_path="$.settings.approval_timeout_seconds",
        result_path=NULL,
        retry=retry("sns"),
        catch=(Catch(("States.Timeout",), "Wave approval timed out"), Catch(CATCH_ALL, "Wave approval rejected")),
        next="Deploy batches",
    ))
    graph.add("Wave approval timed out", Pass(
        parameters={"error": "ApprovalTimedOut", "cause.$": "States.Format('wave {}: approval timed out', $.settings.wave)"},
        result_path="$.failure", next="Notify wave failed",
    ))
    graph.add("Wave approval rejected", Pass(
        parameters={"error": "ApprovalRejected",
                    "cause.$": "States.Format('wave {}: approval rejected: {}', $.settings.wave, $.error.Cause)"},
        result_path="$.failure", next="Notify wave failed",
    ))
    # Deploy: one chunk at a time, its batches one at a time (fail-fast: later chunks skip on a recorded failure).
    graph.add("Deploy batches", _chunks_map(
        targets, "deploy", "d", concurrency=1, chunks=1, catch=(Catch(CATCH_ALL, "Deploy failed"),),
        next=_outcome(graph, targets, "Deploy", "Bake?"),
    ))
    graph.add("Bake?", Choice(
        choices=(ChoiceRule(eq("$.settings.one_at_a_time", True), "Notify wave succeeded"),),
        default="Start bake",
    ))
    graph.add("Start bake", bake_start({"seconds": 0, "round": 0}, "Share bake"))
    graph.add("Share bake", share_bake("Check health"))
    graph.add("Check health", _chunks_map(
        targets, "health", "h{}-", concurrency=0, chunks=CHUNK_CONCURRENCY, catch=(Catch(CATCH_ALL, "Bake failed"),),
        next=_outcome(graph, targets, "Health", "Baked long enough?"),
    ))
    graph.add("Baked long enough?", Choice(
        choices=(ChoiceRule({"Variable": "$.bake.seconds", "NumericGreaterThanEqualsPath": "$.settings.bake_seconds"},
                            "Record batches"),),
        default="Bake wait",
    ))
    graph.add("Bake wait", Wait(seconds_path="$.settings.health_check_interval_seconds", next="Bake tick"))
    graph.add("Bake tick", Pass(
        parameters={
            "seconds.$": "States.MathAdd($.bake.seconds, $.settings.health_check_interval_seconds)",
            "round.$": "States.MathAdd($.bake.round, 1)",
            **bake_carry(),
        },
        result_path="$.bake", next="Quiet window reach",
    ))
    quiet_tick(graph, "", "Share bake")
    graph.add("Record batches", _chunks_map(
        targets, "record", "v", concurrency=0, chunks=CHUNK_CONCURRENCY, catch=(Catch(CATCH_ALL, "Record failed"),),
        next=_outcome(graph, targets, "Record", "Notify wave succeeded"),
    ))
    graph.add("Notify wave succeeded", publish(targets, _wave_message("wave_succeeded"), "Wave succeeded"))
    graph.add("Wave succeeded", Succeed())
    for name in ("Deploy failed", "Bake failed", "Record failed"):
        _caught(graph, name, "Roll back batches")
    graph.add("Roll back batches", _chunks_map(
        targets, "rollback", "r", concurrency=1, chunks=1, result_path="$.rollback.chunks",
        catch=(Catch(CATCH_ALL, "Notify wave failed", result_path="$.rollback_error"),), next="Failed rollbacks",
    ))
    # Single-wildcard paths only: `$.a[*].b` matching nothing is `[]`, a nested wildcard would be an error.
    graph.add("Failed rollbacks", Pass(parameters={"lists.$": "$.rollback.chunks[*].failed"},
                                       result_path="$.rollback", next="Any rollback failed?"))
    graph.add("Any rollback failed?", Choice(
        choices=(ChoiceRule({"Variable": "$.rollback.lists[0]", "IsPresent": True}, "Flatten failed rollbacks"),),
        default="No rollback failed",
    ))
    graph.add("No rollback failed", Pass(result={"cells": []}, result_path="$.rollback", next="Notify wave failed"))
    graph.add("Flatten failed rollbacks", Pass(parameters={"cells.$": "$.rollback.lists[*][*]"},
                                               result_path="$.rollback", next="Name failed rollbacks"))
    graph.add("Name failed rollbacks", Pass(
        parameters={"error.$": "$.failure.error",
                    "cause.$": "States.Format('{}; rollback failed or unanswered for cells {}: a person must act', "
                               "$.failure.cause, $.rollback.cells)"},
        result_path="$.failure", next="Notify wave failed",
    ))
    graph.add("Notify wave failed", publish(targets, _wave_message(
        "wave_failed", **{"error.$": "$.failure.error", "cause.$": "$.failure.cause",
                          "rollback_failed.$": "$.rollback.cells"},
    ), "Wave failed"))
    graph.add("Wave failed", Fail(error_path="$.failure.error", cause_path="$.failure.cause"))
    return graph.to_dict()


# --------------------------------------------------------------------------------------------
# batch: the per-cell work


def _key() -> JSON:
    return {CELL_KEY: {"S.$": "$.cell"}}


def _update(targets: Targets, expression: str, values: JSON, next_: str | None, **kw: Any) -> Task:
    return Task(
        resource=DDB_UPDATE,
        parameters={
            "TableName": targets.rollout_table,
            "Key": _key(),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":at": {"S.$": "$$.State.EnteredTime"}, **values},
        },
        result_path=NULL,
        retry=retry("dynamodb"),
        next=next_,
        end=next_ is None,
        **kw,
    )


def _status(value: RolloutStatus) -> JSON:
    return {":status": {"S": value.value}}


def _read_registry(targets: Targets, next_: str) -> Task:
    return Task(
        resource=DDB_GET,
        parameters={"TableName": targets.rollout_table, "Key": _key(), "ConsistentRead": True},
        result_path="$.registry",
        retry=retry("dynamodb"),
        next=next_,
    )


def _deploy_request(targets: Targets, action: str, version: str, previous: str, next_: str, catch: tuple[Catch, ...]) -> Task:
    """`CellDeployRequested` on the bus, waiting for the deployer's SendTaskSuccess/Failure."""
    return Task(
        resource=EVENTS_WAIT,
        parameters={"Entries": [{
            "EventBusName": targets.event_bus,
            "Source": EVENT_SOURCE,
            "DetailType": DEPLOY_DETAIL_TYPE,
            "Detail": {
                "cell_id.$": "$.cell",
                "action": action,
                "version.$": version,
                "previous_version.$": previous,
                "wave.$": "$.settings.wave",
                "rollout.$": "$.rollout",
                "task_token.$": "$$.Task.Token",
            },
        }]},
        timeout_seconds_path="$.settings.deploy_timeout_seconds",
        result_path=NULL,
        retry=retry("events"),
        catch=catch,
        next=next_,
    )


def _health_states(graph: Graph, targets: Targets, healthy: str, *, bake_loop: bool, p: str = "") -> str:
    """DescribeAlarms on the cell's `cell-<id>-` alarms; any in ALARM fails the cell (state `{p}Cell failed`).

    At the end of the bake the wave's `checks` run (`pipelines.health_checks`) before `healthy`.
    """
    check, decide, wait, tick = f"{p}Check alarms", f"{p}Healthy?", f"{p}Cell bake wait", f"{p}Cell bake tick"
    healthy = analysis_states(graph, targets, {s: retry(s) for s in ("cloudwatch", "dynamodb")}, p, healthy,
                              f"{p}Cell failed", "$.bake" if bake_loop else "$.settings.bake")
    graph.add(check, Task(
        resource=DESCRIBE_ALARMS,
        parameters={
            "AlarmNamePrefix.$": f"States.Format('{alarm_prefix('{}')}', $.cell)",
            "StateValue": "ALARM",
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        },
        result_selector={"metric.$": "$.MetricAlarms[*].AlarmName", "composite.$": "$.CompositeAlarms[*].AlarmName"},
        result_path="$.alarms",
        retry=retry("cloudwatch"),
        next=decide,
    ))
    rules = [
        ChoiceRule({"Variable": "$.alarms.metric[0]", "IsPresent": True}, f"{p}Metric alarm"),
        ChoiceRule({"Variable": "$.alarms.composite[0]", "IsPresent": True}, f"{p}Composite alarm"),
    ]
    if bake_loop:
        rules.append(ChoiceRule(
            {"Variable": "$.bake.seconds", "NumericGreaterThanEqualsPath": "$.settings.bake_seconds"}, healthy,
        ))
        graph.add(wait, Wait(seconds_path="$.settings.health_check_interval_seconds", next=tick))
        graph.add(tick, Pass(
            parameters={"seconds.$": "States.MathAdd($.bake.seconds, $.settings.health_check_interval_seconds)",
                        **bake_carry()},
            result_path="$.bake", next="Quiet window reach",
        ))
        quiet_tick(graph, "", check)
    graph.add(decide, Choice(choices=tuple(rules), default=wait if bake_loop else healthy))
    for name, key in ((f"{p}Metric alarm", "metric"), (f"{p}Composite alarm", "composite")):
        graph.add(name, Pass(
            parameters={
                "error": "CellUnhealthy",
                "cause.$": f"States.Format('cell {{}}: alarm {{}} in ALARM during bake of {{}}', $.cell, "
                           f"States.ArrayGetItem($.alarms.{key}, 0), $.version)",
            },
            result_path="$.failure", next=f"{p}Cell failed",
        ))
    return check


def _read_facts(graph: Graph, targets: Targets, p: str, next_: str) -> str:
    """The cell's declared facts (registry, owned by the cell stack) with notice defaults, in `$.facts`.

    `$.facts.notification_channel.S` / `maintenance_window.S` are `none` when the cell file has none.
    """
    graph.add(f"{p}Read declared facts", Task(
        resource=DDB_GET,
        parameters={"TableName": targets.registry_table, "Key": _key(), "ConsistentRead": True},
        result_path="$.declared", retry=retry("dynamodb"), next=f"{p}Notice defaults",
    ))
    graph.add(f"{p}Notice defaults", Pass(
        result={key: {"S": "none"} for key in ("notification_channel", "maintenance_window")},
        result_path="$.facts", next=f"{p}Facts declared?",
    ))
    graph.add(f"{p}Facts declared?", Choice(
        choices=(ChoiceRule({"Variable": "$.declared.Item", "IsPresent": True}, f"{p}Merge declared facts"),),
        default=next_,
    ))
    graph.add(f"{p}Merge declared facts", Pass(
        parameters={"item.$": "States.JsonMerge($.facts, $.declared.Item, false)"},
        result_path="$.facts", next=f"{p}Facts ready",
    ))
    graph.add(f"{p}Facts ready", Pass(parameters={"notification_channel.$": "$.facts.item.notification_channel",
                                                  "maintenance_window.$": "$.facts.item.maintenance_window",
                                                  "releases.$": "$.facts.item.releases"},
                                      result_path="$.facts", next=next_))
    return f"{p}Read declared facts"


def _customer_message(event: str, **extra: Any) -> JSON:
    """A notice for the cell's customer, addressed to the cell's own channel (the wave's when it has none)."""
    return {
        "event": event, "cell_id.$": "$.cell", "rollout.$": "$.rollout", "version.$": "$.version",
        "wave.$": "$.settings.wave", "channel.$": "$.facts.notification_channel.S",
        "window.$": "$.facts.maintenance_window.S", "channels.$": "$.settings.channels", **extra,
    }


def _previous_version(g: Graph, next_: str) -> None:
    """`$.previous.version`: what the pipeline last deployed, else the release the cell declares.

    Several declared releases give `declared` (roll back to the cell file); no registry item
    gives `none` (nothing to roll back to; see `model.contract`).
    """
    g.add("Previous version known?", Choice(
        choices=(ChoiceRule({"Variable": "$.registry.Item.deployed_version.S", "IsPresent": True}, "Previous version"),
                 ChoiceRule({"Variable": "$.facts.releases.M", "IsPresent": True}, "Declared releases")),
        default="No previous version",
    ))
    g.add("Previous version", Pass(parameters={"version.$": "$.registry.Item.deployed_version.S"},
                                   result_path="$.previous", next=next_))
    g.add("Declared releases", Pass(parameters={"all.$": "$.facts.releases.M.*.S"}, result_path="$.previous",
                                    next="Unique declared releases"))
    g.add("Unique declared releases", Pass(parameters={"unique.$": "States.ArrayUnique($.previous.all)"},
                                           result_path="$.previous", next="One declared release?"))
    g.add("One declared release?", Choice(
        choices=(ChoiceRule({"Variable": "$.previous.unique[1]", "IsPresent": True}, "Several declared releases"),),
        default="Declared release",
    ))
    g.add("Declared release", Pass(parameters={"version.$": "States.ArrayGetItem($.previous.unique, 0)"},
                                   result_path="$.previous", next=next_))
    g.add("Several declared releases", Pass(result={"version": DECLARED_RELEASES}, result_path="$.previous",
                                            next=next_))
    g.add("No previous version", Pass(result={"version": NO_RELEASE}, result_path="$.previous", next=next_))


def _window_states(g: Graph, next_: str) -> None:
    """Wait for the cell's next maintenance-window opening (`pipelines.windows`) before deploying.

    Openings whose latest start has passed are skipped; before an opening, the cell waits for
    its start; with none left the cell fails (NoMaintenanceWindow) and the wave rolls back.
    """
    g.add("Window?", Choice(
        choices=(ChoiceRule({"Variable": "$.mine.list[0]", "IsPresent": True}, "Window: first opening"),),
        default=next_,
    ))
    g.add("Window: first opening", Pass(result={"i": 0}, result_path="$.window", next="Window: pick opening"))
    g.add("Window: pick opening", Pass(
        parameters={"i.$": "$.window.i", "n.$": "States.ArrayLength($.mine.list)", "now.$": "$$.State.EnteredTime",
                    "opening.$": "States.ArrayGetItem($.mine.list, $.window.i)"},
        result_path="$.window", next="Window: open?",
    ))
    g.add("Window: open?", Choice(
        choices=(
            ChoiceRule({"Variable": "$.window.now", "TimestampGreaterThanPath": "$.window.opening.latest_start"},
                       "Window: too late"),
            ChoiceRule({"Variable": "$.window.now", "TimestampLessThanPath": "$.window.opening.start"},
                       "Window: wait for opening"),
        ),
        default=next_,
    ))
    g.add("Window: wait for opening", Wait(timestamp_path="$.window.opening.start", next=next_))
    g.add("Window: too late", Pass(parameters={"i.$": "States.MathAdd($.window.i, 1)", "n.$": "$.window.n"},
                                   result_path="$.window", next="Window: any left?"))
    g.add("Window: any left?", Choice(
        choices=(ChoiceRule({"Variable": "$.window.i", "NumericLessThanPath": "$.window.n"}, "Window: pick opening"),),
        default="Window: none left",
    ))
    g.add("Window: none left", Pass(
        parameters={"error": "NoMaintenanceWindow",
                    "cause.$": "States.Format('cell {}: no maintenance-window opening left for {} ({})', "
                               "$.cell, $.version, $.facts.maintenance_window.S)"},
        result_path="$.failure", next="Cell failed",
    ))


def _deploy_cell(targets: Targets) -> Graph:
    g = Graph(start_at="Windows in batch?")
    g.add("Windows in batch?", Choice(
        choices=(ChoiceRule({"Variable": "$.windows[0]", "IsPresent": True}, "Cell openings"),), default="No openings",
    ))
    g.add("Cell openings", Pass(parameters={"list.$": "States.ArrayGetItem($.windows, $.index)"}, result_path="$.mine",
                                next="Read registry"))
    g.add("No openings", Pass(result={"list": []}, result_path="$.mine", next="Read registry"))
    g.add("Read registry", _read_registry(targets, "Read declared facts"))
    _read_facts(g, targets, "", "Previous version known?")
    _previous_version(g, "Cell approval?")
    g.add("Cell approval?", Choice(
        choices=(ChoiceRule({"And": [eq("$.settings.approval", True), eq("$.settings.one_at_a_time", True)]},
                            "Request cell approval"),),
        default="Customer notice?",
    ))
    g.add("Request cell approval", Task(
        resource=SNS_WAIT,
        parameters={"TopicArn": targets.approvals_topic_arn, "Message": {
            "event": "approval_requested", "kind": "cell", "cell_id.$": "$.cell", "rollout.$": "$.rollout",
            "version.$": "$.version", "previous_version.$": "$.previous.version", "wave.$": "$.settings.wave",
            "window.$": "$.facts.maintenance_window.S", "task_token.$": "$$.Task.Token",
        }},
        timeout_seconds_path="$.settings.approval_timeout_seconds",
        result_path=NULL,
        retry=retry("sns"),
        catch=(Catch(("States.Timeout",), "Approval timed out"), Catch(CATCH_ALL, "Approval rejected")),
        next="Customer notice?",
    ))
    g.add("Approval timed out", Pass(
        parameters={"error": "ApprovalTimedOut", "cause.$": "States.Format('cell {}: approval timed out', $.cell)"},
        result_path="$.failure", next="Cancellation notice?",
    ))
    g.add("Approval rejected", Pass(
        parameters={"error": "ApprovalRejected",
                    "cause.$": "States.Format('cell {}: approval rejected: {}', $.cell, $.error.Cause)"},
        result_path="$.failure", next="Cancellation notice?",
    ))
    g.add("Cancellation notice?", Choice(
        choices=(ChoiceRule(eq("$.settings.notify_customers", True), "Notify customer of cancellation"),),
        default="Cell failed",
    ))
    g.add("Notify customer of cancellation", publish(targets, _customer_message(
        "customer_deploy_cancelled", **{"reason.$": "$.failure.cause"}), "Cell failed"))
    # After the approval: a customer is never told of a deploy that a person then refuses.
    g.add("Customer notice?", Choice(
        choices=(ChoiceRule(eq("$.settings.notify_customers", True), "Notify customer"),), default="Window?",
    ))
    g.add("Notify customer", publish(targets, _customer_message(
        "customer_notice", **{"previous_version.$": "$.previous.version", "openings.$": "$.mine.list"}), "Window?"))
    _window_states(g, "Mark deploying")
    g.add("Mark deploying", _update(
        targets,
        "SET #status = :status, rollout_id = :rollout, target_version = :version, "
        "previous_version = :previous, updated_at = :at",
        {**_status(RolloutStatus.DEPLOYING), ":rollout": {"S.$": "$.rollout"}, ":version": {"S.$": "$.version"},
         ":previous": {"S.$": "$.previous.version"}},
        "Deploy",
    ))
    g.add("Deploy", _deploy_request(
        targets, "deploy", "$.version", "$.previous.version", "Mark deployed",
        (Catch(("States.Timeout",), "Deploy timed out"), Catch(CATCH_ALL, "Deploy failed")),
    ))
    g.add("Deploy timed out", Pass(
        parameters={"error": "DeployTimedOut", "cause.$": "States.Format('cell {}: deploy of {} timed out after {} s', "
                                                          "$.cell, $.version, $.settings.deploy_timeout_seconds)"},
        result_path="$.failure", next="Cell failed",
    ))
    g.add("Deploy failed", Pass(
        parameters={"error": "DeployFailed",
                    "cause.$": "States.Format('cell {}: deploy of {} failed: {}: {}', "
                               "$.cell, $.version, $.error.Error, $.error.Cause)"},
        result_path="$.failure", next="Cell failed",
    ))
    g.add("Mark deployed", _update(
        targets, "SET #status = :status, deployed_version = :version, updated_at = :at",
        {**_status(RolloutStatus.BAKING), ":version": {"S.$": "$.version"}}, "Bake each cell?",
    ))
    g.add("Bake each cell?", Choice(
        choices=(ChoiceRule(eq("$.settings.one_at_a_time", True), "Start cell bake"),), default="Deployed",
    ))
    g.add("Start cell bake", bake_start({"seconds": 0}, "Check alarms"))
    _health_states(g, targets, "Mark released", bake_loop=True)
    g.add("Mark released", _update(targets, "SET #status = :status, updated_at = :at", _status(RolloutStatus.DEPLOYED),
                                   "Completion notice?"))
    g.add("Completion notice?", Choice(
        choices=(ChoiceRule(eq("$.settings.notify_customers", True), "Notify customer of completion"),),
        default="Deployed",
    ))
    g.add("Notify customer of completion", publish(targets, _customer_message("customer_deploy_completed"), "Deployed"))
    g.add("Cell failed", Fail(error_path="$.failure.error", cause_path="$.failure.cause"))
    g.add("Deployed", Succeed())
    return g


def _health_cell(targets: Targets) -> Graph:
    g = Graph(start_at="Health: Check alarms")
    _health_states(g, targets, "Health: Healthy", bake_loop=False, p="Health: ")
    g.add("Health: Healthy", Succeed())
    g.add("Health: Cell failed", Fail(error_path="$.failure.error", cause_path="$.failure.cause"))
    return g


def _record_cell(targets: Targets) -> Graph:
    g = Graph(start_at="Record: mark released")
    g.add("Record: mark released", _update(targets, "SET #status = :status, updated_at = :at",
                                           _status(RolloutStatus.DEPLOYED), None))
    return g


def _rollback_cell(targets: Targets) -> Graph:
    """Roll one cell back if this rollout touched it; output `{failed: cell}` when the rollback failed, else `{}`."""
    item = "$.registry.Item"
    g = Graph(start_at="Rollback: read registry")
    g.add("Rollback: read registry", _read_registry(targets, "Touched by this rollout?"))
    touched = {"And": [
        {"Variable": f"{item}.rollout_id.S", "IsPresent": True},
        {"Variable": f"{item}.status.S", "IsPresent": True},
        {"Variable": f"{item}.previous_version.S", "IsPresent": True},
        {"Variable": f"{item}.rollout_id.S", "StringEqualsPath": "$.rollout"},
        {"Or": [eq(f"{item}.status.S", s.value)
                for s in (RolloutStatus.DEPLOYING, RolloutStatus.BAKING, RolloutStatus.DEPLOYED)]},
    ]}
    g.add("Touched by this rollout?", Choice(choices=(ChoiceRule(touched, "Mark rolling back"),), default="Untouched"))
    g.add("Untouched", Pass(result={}, end=True))
    g.add("Mark rolling back", _update(targets, "SET #status = :status, updated_at = :at", _status(RolloutStatus.ROLLING_BACK),
                                       "Roll back"))
    g.add("Roll back", _deploy_request(
        targets, "rollback", f"{item}.previous_version.S", "$.version", "Mark rolled back",
        (Catch(CATCH_ALL, "Mark rollback failed"),),
    ))
    g.add("Mark rolled back", _update(
        targets, "SET #status = :status, deployed_version = :previous, updated_at = :at",
        {**_status(RolloutStatus.ROLLED_BACK), ":previous": {"S.$": f"{item}.previous_version.S"}}, "Rollback notice?",
    ))
    g.add("Rollback notice?", Choice(
        choices=(ChoiceRule(eq("$.settings.notify_customers", True), "Rollback: Read declared facts"),),
        default="Rolled back",
    ))
    _read_facts(g, targets, "Rollback: ", "Notify customer of rollback")
    g.add("Notify customer of rollback", publish(targets, _customer_message(
        "customer_rolled_back", **{"rolled_back_to.$": f"{item}.previous_version.S"}), "Rolled back"))
    g.add("Rolled back", Pass(result={}, end=True))
    g.add("Mark rollback failed", _update(targets, "SET #status = :status, updated_at = :at",
                                          _status(RolloutStatus.ROLLBACK_FAILED), "Rollback not confirmed"))
    g.add("Rollback not confirmed", Pass(parameters={"failed.$": "$.cell"}, end=True))
    return g


def _cells_map(processor: Graph, *, concurrency_path: str | None = None, result_path: str | None = None,
               next_: str | None = None, windows: bool = False) -> Map:
    openings = {"windows.$": "$.openings", "index.$": "$$.Map.Item.Index"} if windows else {}
    return Map(
        item_processor=processor,
        items_path="$.cells",
        item_selector={
            "cell.$": "$$.Map.Item.Value",
            "version.$": "$.version",
            "rollout.$": "$.rollout",
            "settings.$": "$.settings",
            **openings,
        },
        max_concurrency_path=concurrency_path,
        max_concurrency=None if concurrency_path else 0,
        result_path=result_path or NULL,
        next=next_,
        end=next_ is None,
    )


def batch_definition(targets: Targets) -> JSON:
    graph = Graph(start_at="Mode?", comment="cellfleet batch: deploy, check, record or roll back a batch of cells")
    modes = {"deploy": "Deploy cells", "health": "Check cells", "record": "Record cells", "rollback": "Roll back cells"}
    graph.add("Mode?", Choice(
        choices=tuple(ChoiceRule(eq("$.mode", mode), state) for mode, state in modes.items()),
        default="Unknown mode",
    ))
    graph.add("Deploy cells", _cells_map(_deploy_cell(targets), concurrency_path="$.settings.max_concurrency",
                                         windows=True))
    graph.add("Check cells", _cells_map(_health_cell(targets)))
    graph.add("Record cells", _cells_map(_record_cell(targets)))
    graph.add("Roll back cells", _cells_map(_rollback_cell(targets), concurrency_path="$.settings.max_concurrency",
                                            result_path="$.results", next_="Rollback outcome"))
    graph.add("Rollback outcome", Pass(parameters={"rollback_failed.$": "$.results[*].failed"}, end=True))
    graph.add("Unknown mode", Fail(error="UnknownMode", cause="mode must be deploy, health, record or rollback"))
    return graph.to_dict()


def definitions(plan: Plan, targets: Targets) -> dict[str, JSON]:
    """Every state machine of the pipeline, by kind (`rollout`, `wave`, `batch`)."""
    return {
        "rollout": rollout_definition(plan, targets),
        "wave": wave_definition(targets),
        "batch": batch_definition(targets),
    }
