"""The health analysis of a bake (issue 12): the policy's `checks:` as ASL states, evaluated per cell.

At the end of a cell's bake (the wave's last health round, or the cell's own bake when one at a
time) every check of the wave runs for the cell, and the results are recorded on the cell's
rollout-state item (`health_checks`, with `health_wave`), which `fleet rollout watch` shows:

* `metric` and `external`: CloudWatch `GetMetricData` (aws-sdk integration) from the bake's start to
  now, one period covering the bake, per cell (dimension = the cell id). Issue types are measured as
  `model.contract.ISSUE_MEASURES` says, the same queries and metric math the cell's alarms use.
  The period is the policy's `bake.max` in whole minutes; a bake overridden to last longer is
  judged on its latest period (newest first). CloudWatch starts the window at the whole minute.
* `quiet`: no alarm of the cell fired during the last `window` of the bake. AWS's own record of
  that is DescribeAlarmHistory, which moto does not implement; the check uses DescribeAlarms
  instead (which moto implements, and which the alarm poll already calls): an alarm of the cell is
  a firing when it is in ALARM, or when its state changed (`StateUpdatedTimestamp`) after the
  window began, i.e. it went to ALARM and back, or left INSUFFICIENT_DATA, inside the window. The
  second case makes a brand-new alarm count too: stricter than the alarm history, never laxer.

Each check passes when its value is below the threshold (no data: passes, recorded as such);
a failed check fails the cell with `HealthCheckFailed` naming the check, cell, value and
threshold, and the wave rolls the cells back as for a firing alarm. The alarm poll stays.

The window's start needs no date arithmetic (JSONPath has none): the bake loop keeps
`$.bake.quiet.at`, the entry time of the last poll at least `window` before the bake's end
(`quiet_tick`), so the checked window is the last `window` of the bake or a little more.
"""

from __future__ import annotations

import math
from typing import Any

from model.contract import CELL_DIMENSION, CELL_KEY, ISSUE_MEASURES, METRIC_NAMESPACE, IssueType, alarm_prefix
from model.policy import CheckKind, HealthCheck, WavePolicy
from pipelines.asl import DDB_UPDATE, DESCRIBE_ALARMS, INTEGRATION_PREFIX, JSON, NULL, Choice, ChoiceRule, Graph, Map, Pass, Task
from pipelines.targets import Targets

GET_METRIC_DATA = f"{INTEGRATION_PREFIX}aws-sdk:cloudwatch:getMetricData"

RESULTS_ATTRIBUTE = "health_checks"  # rollout-state item: the last analysis of the cell (a list of maps)
WAVE_ATTRIBUTE = "health_wave"  # ... and the wave it was made in
QUIET_UNIT = "alarms"


def check_settings(policy: WavePolicy) -> list[JSON]:
    """The wave's checks as the state machines read them (compiled into the rollout definition)."""
    period = max(60, math.ceil(policy.bake.max.total_seconds() / 60) * 60)  # one period covers the bake
    return [_check(check, period) for check in policy.checks]


def quiet_seconds(policy: WavePolicy) -> int:
    """The quiet check's window (0 without one): the bake loop keeps where it begins."""
    return next((int(c.window.total_seconds()) for c in policy.checks if c.kind is CheckKind.QUIET and c.window), 0)


def _check(check: HealthCheck, period: int) -> JSON:
    base: JSON = {"name": check.id, "kind": check.kind.value}
    if check.kind is CheckKind.QUIET:
        return {**base, "below": 1, "unit": QUIET_UNIT}
    if check.kind is CheckKind.METRIC:
        measure = ISSUE_MEASURES[IssueType(str(check.metric))]  # the policy parser checked it
        queries: list[JSON] = [{"id": q.id, "metric": q.metric, "stat": q.stat} for q in measure.queries]
        where: JSON = {"namespace": METRIC_NAMESPACE, "dimension": CELL_DIMENSION}
        expression, unit = measure.expression, measure.unit
    else:
        queries = [{"id": "external", "metric": check.metric, "stat": check.statistic}]
        where = {"namespace": check.namespace, "dimension": check.dimension}
        expression, unit = "external", ""
    # q0, q1 rather than a list: a JSONPath like `$.queries[0].id` is a list in moto's interpreter
    return {**base, **where, **{f"q{i}": q for i, q in enumerate(queries)}, "expression": expression,
            "period": period, "below": _number(check.below), "unit": unit}


def _number(value: float | None) -> float | int | None:
    """500.0 -> 500: thresholds read in errors as the policy wrote them."""
    return int(value) if value is not None and value.is_integer() else value


def bake_start(extra: JSON, next_: str) -> Pass:
    """`$.bake` at the start of a bake: `extra` plus when it started (also the quiet window's first start)."""
    return Pass(parameters={**extra, "started.$": "$$.State.EnteredTime", "quiet": {"at.$": "$$.State.EnteredTime"}},
                result_path="$.bake", next=next_)


def bake_carry() -> JSON:
    """What a bake tick carries over from `$.bake` besides its counters."""
    return {"started.$": "$.bake.started", "quiet.$": "$.bake.quiet"}


def quiet_tick(graph: Graph, p: str, next_: str) -> str:
    """After a bake tick: move the quiet window's start to now while `seconds + window <= bake`."""
    reach, advance = f"{p}Quiet window reach", f"{p}Quiet window start"
    graph.add(reach, Pass(parameters={"s.$": "States.MathAdd($.bake.seconds, $.settings.quiet_seconds)"},
                          result_path="$.quiet_reach", next=f"{p}Quiet window moves?"))
    graph.add(f"{p}Quiet window moves?", Choice(
        choices=(ChoiceRule({"Variable": "$.quiet_reach.s", "NumericLessThanEqualsPath": "$.settings.bake_seconds"},
                            advance),),
        default=next_,
    ))
    graph.add(advance, Pass(parameters={"at.$": "$$.State.EnteredTime"}, result_path="$.bake.quiet", next=next_))
    return reach


def _metric_query(i: int) -> JSON:
    q = f"$.check.q{i}"
    return {
        "Id.$": f"{q}.id",
        "MetricStat": {
            "Metric": {"Namespace.$": "$.check.namespace", "MetricName.$": f"{q}.metric",
                       "Dimensions": [{"Name.$": "$.check.dimension", "Value.$": "$.cell"}]},
            "Period.$": "$.check.period",
            "Stat.$": f"{q}.stat",
        },
        "ReturnData": False,
    }


def _get_metric_data(retry: Any, queries: int, next_: str) -> Task:
    return Task(
        resource=GET_METRIC_DATA,
        parameters={
            "StartTime.$": "$.bake.started",
            "EndTime.$": "$$.State.EnteredTime",
            "ScanBy": "TimestampDescending",
            "MetricDataQueries": [*(_metric_query(i) for i in range(queries)),
                                  {"Id": "value", "Expression.$": "$.check.expression", "ReturnData": True}],
        },
        result_selector={"results.$": "$.MetricDataResults"},  # one: the `value` expression (ReturnData)
        result_path="$.measured",
        retry=retry,
        next=next_,
    )


def _record(value: JSON, passed: bool) -> JSON:
    """One check's result as a DynamoDB map (typed JSON), for the rollout-state item."""
    return {"M": {
        "check": {"S.$": "$.check.name"}, "kind": {"S.$": "$.check.kind"}, "value": value,
        "threshold": {"S.$": "States.Format('below {} {}', $.check.below, $.check.unit)"},
        "passed": {"BOOL": passed},
    }}


def _check_processor(retry: Any, p: str) -> Graph:
    g = Graph(start_at=f"{p}Check kind?")
    g.add(f"{p}Check kind?", Choice(
        choices=(ChoiceRule({"Variable": "$.check.kind", "StringEquals": CheckKind.QUIET.value}, f"{p}Alarm states"),
                 ChoiceRule({"Variable": "$.check.q1", "IsPresent": True}, f"{p}Two metrics")),
        default=f"{p}One metric",
    ))
    g.add(f"{p}One metric", _get_metric_data(retry, 1, f"{p}Measured series"))
    g.add(f"{p}Two metrics", _get_metric_data(retry, 2, f"{p}Measured series"))
    # ArrayGetItem, not `[0].` paths: moto's interpreter turns `$.a[0].b` into a list
    g.add(f"{p}Measured series", Pass(parameters={"series.$": "States.ArrayGetItem($.measured.results, 0)"},
                                      result_path="$.measured", next=f"{p}Measured?"))
    g.add(f"{p}Measured?", Choice(
        choices=(ChoiceRule({"Variable": "$.measured.series.Values[0]", "IsPresent": True}, f"{p}Measured value"),),
        default=f"{p}No data",
    ))
    g.add(f"{p}Measured value", Pass(parameters={"value.$": "States.ArrayGetItem($.measured.series.Values, 0)",
                                                 "detail": ""},
                                     result_path="$.measured", next=f"{p}Below threshold?"))
    g.add(f"{p}No data", Pass(parameters={"record": _record({"S": "no data"}, True)}, end=True))
    # quiet: DescribeAlarms (see the module docstring), one pass over the cell's metric alarms
    g.add(f"{p}Alarm states", Task(
        resource=DESCRIBE_ALARMS,
        parameters={"AlarmNamePrefix.$": f"States.Format('{alarm_prefix('{}')}', $.cell)", "AlarmTypes": ["MetricAlarm"]},
        result_selector={"alarms.$": "$.MetricAlarms"},
        result_path="$.quiet", retry=retry, next=f"{p}Each alarm",
    ))
    each = Graph(start_at=f"{p}Alarm fired?")
    each.add(f"{p}Alarm fired?", Choice(
        choices=(
            ChoiceRule({"Variable": "$.alarm.StateValue", "StringEquals": "ALARM"}, f"{p}Alarm fired"),
            ChoiceRule({"Variable": "$.alarm.StateUpdatedTimestamp", "TimestampGreaterThanPath": "$.since"},
                       f"{p}Alarm fired"),
        ),
        default=f"{p}Alarm quiet",
    ))
    each.add(f"{p}Alarm fired", Pass(parameters={"fired.$": "$.alarm.AlarmName"}, end=True))
    each.add(f"{p}Alarm quiet", Pass(result={}, end=True))
    g.add(f"{p}Each alarm", Map(
        item_processor=each, items_path="$.quiet.alarms",
        item_selector={"alarm.$": "$$.Map.Item.Value", "since.$": "$.bake.quiet.at"},
        max_concurrency=0, result_path="$.quiet.results", next=f"{p}Fired alarms",
    ))
    g.add(f"{p}Fired alarms", Pass(parameters={"fired.$": "$.quiet.results[*].fired"}, result_path="$.quiet",
                                   next=f"{p}Count fired"))
    g.add(f"{p}Count fired", Pass(parameters={"value.$": "States.ArrayLength($.quiet.fired)",
                                              "detail.$": "States.Format(' {}', States.JsonToString($.quiet.fired))"},
                                  result_path="$.measured", next=f"{p}Below threshold?"))
    g.add(f"{p}Below threshold?", Choice(
        choices=(ChoiceRule({"Variable": "$.measured.value", "NumericLessThanPath": "$.check.below"}, f"{p}Check passed"),),
        default=f"{p}Check failed",
    ))
    value = {"S.$": "States.Format('{} {}{}', $.measured.value, $.check.unit, $.measured.detail)"}
    g.add(f"{p}Check passed", Pass(parameters={"record": _record(value, True)}, end=True))
    g.add(f"{p}Check failed", Pass(parameters={
        "record": _record(value, False),
        "failure.$": "States.Format('{} = {} {}{} (threshold: below {} {})', $.check.name, $.measured.value, "
                     "$.check.unit, $.measured.detail, $.check.below, $.check.unit)",
    }, end=True))
    return g


def share_bake(next_: str) -> Pass:
    """The wave's `$.bake` copied into `$.settings.bake`, which every batch and cell receives."""
    return Pass(parameters={"seconds.$": "$.bake.seconds", **bake_carry()}, result_path="$.settings.bake", next=next_)


def analysis_states(graph: Graph, targets: Targets, retry: dict[str, Any], p: str, next_: str, failed: str,
                    bake: str = "$.bake") -> str:
    """States running the wave's checks for `$.cell` once its bake (at `bake`) is over; a failure goes to `failed`.

    `retry` holds the Retry tuples by service (`cloudwatch`, `dynamodb`). Returns the entry state.
    """
    entry = f"{p}Analysis due?"
    graph.add(entry, Choice(
        choices=(ChoiceRule({"And": [
            {"Variable": "$.settings.checks[0]", "IsPresent": True},
            {"Variable": f"{bake}.seconds", "NumericGreaterThanEqualsPath": "$.settings.bake_seconds"},
        ]}, f"{p}Run checks"),),
        default=next_,
    ))
    graph.add(f"{p}Run checks", Map(
        item_processor=_check_processor(retry["cloudwatch"], p),
        items_path="$.settings.checks",
        item_selector={"check.$": "$$.Map.Item.Value", "cell.$": "$.cell", "bake.$": bake},
        max_concurrency=0, result_path="$.analysis", next=f"{p}Analysis results",
    ))
    graph.add(f"{p}Analysis results", Pass(
        parameters={"records.$": "$.analysis[*].record", "failures.$": "$.analysis[*].failure"},
        result_path="$.analysis", next=f"{p}Record analysis",
    ))
    graph.add(f"{p}Record analysis", Task(
        resource=DDB_UPDATE,
        parameters={
            "TableName": targets.rollout_table,
            "Key": {CELL_KEY: {"S.$": "$.cell"}},
            "UpdateExpression": f"SET {RESULTS_ATTRIBUTE} = :checks, {WAVE_ATTRIBUTE} = :wave, updated_at = :at",
            "ExpressionAttributeValues": {":checks": {"L.$": "$.analysis.records"}, ":wave": {"S.$": "$.settings.wave"},
                                          ":at": {"S.$": "$$.State.EnteredTime"}},
        },
        result_path=NULL, retry=retry["dynamodb"], next=f"{p}Checks failed?",
    ))
    graph.add(f"{p}Checks failed?", Choice(
        choices=(ChoiceRule({"Variable": "$.analysis.failures[0]", "IsPresent": True}, f"{p}Health check failed"),),
        default=next_,
    ))
    graph.add(f"{p}Health check failed", Pass(
        parameters={"error": "HealthCheckFailed",
                    "cause.$": "States.Format('cell {}: health check failed during bake of {}: {}', $.cell, $.version, "
                               "States.ArrayGetItem($.analysis.failures, 0))"},
        result_path="$.failure", next=failed,
    ))
    return entry
