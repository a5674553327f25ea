"""What moto 5.2 lacks for the bake checks (`pipelines.health_checks`): a stand-in, said so.

**aws-sdk responses as JSON.** AWS hands a state an aws-sdk result as JSON, timestamps as ISO 8601
strings; moto's interpreter keeps botocore's `datetime` objects, which no Choice `Timestamp*` rule
can read. `apply()` serialises the result the way moto's own history does (`isoformat`).

**GetMetricData.** AWS rounds `StartTime` down to the whole minute (for start times less than 15
days ago); moto only drops the microseconds, so a bake of 0 s asks for an empty interval.

moto's GetMetricData computes only Sum / Average / Minimum / Maximum / SampleCount and, for metric
math, returns the series whose id equals the expression. The bake checks send what AWS computes:
percentile statistics (`p99`, the cells' latency alarm and `ISSUE_MEASURES`) and arithmetic with
`IF` (the error rate). `apply()` adds exactly those to moto, computed from the raw datapoints moto
stores: percentiles by nearest rank over the period's values, and `+ - * /`, comparisons and
`IF(cond, a, b)` per timestamp (a division by zero gives no datapoint, as on AWS). The request,
the response shape and everything else stay moto's.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.LtE: operator.le, ast.Eq: operator.eq,
}
_APPLIED: dict[str, bool] = {}


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _evaluate(node: ast.AST, point: dict[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, point)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return point[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left, point), _evaluate(node.right, point))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPS:
        return float(_OPS[type(node.ops[0])](_evaluate(node.left, point), _evaluate(node.comparators[0], point)))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "IF" and len(node.args) == 3:
        condition, then, otherwise = node.args
        return _evaluate(then if _evaluate(condition, point) else otherwise, point)
    raise ValueError(f"metric math not supported by this stand-in: {ast.dump(node)}")


def evaluate(expression: str, results: list[dict[str, Any]]) -> tuple[list[float], list[datetime]]:
    """The expression at every timestamp where all the series it names have a value."""
    tree = ast.parse(expression, mode="eval")
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id != "IF"}
    series = {r["id"]: dict(zip(r["timestamps"], r["values"], strict=True)) for r in results if r["id"] in names}
    if set(series) != names:
        return [], []
    stamps = sorted(set.intersection(*(set(s) for s in series.values()))) if series else []
    values, kept = [], []
    for stamp in stamps:
        try:
            values.append(_evaluate(tree, {name: float(s[stamp]) for name, s in series.items()}))
        except ZeroDivisionError:
            continue
        kept.append(stamp)
    return values, kept


def apply() -> None:
    """Patch moto's CloudWatch backend once per process (idempotent)."""
    if _APPLIED.get("metrics"):
        return
    from moto.cloudwatch import models

    statistics: Any = models.Statistics
    original = statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = _PERCENTILE.match(stat)
        if match is None:
            return original(self, stat)
        return percentile([float(v) for v in self.metric_single_values_list], float(match.group(1)))

    statistics.get_statistics_for_type = get_statistics_for_type
    backend: Any = models.CloudWatchBackend
    get_metric_data = backend.get_metric_data

    def from_the_minute(self: Any, queries: Any, start_time: datetime, end_time: datetime, *args: Any, **kw: Any) -> Any:
        return get_metric_data(self, queries, start_time.replace(second=0, microsecond=0), end_time, *args, **kw)

    backend.get_metric_data = from_the_minute
    module: Any = models
    module.parse_expression = evaluate
    _json_sdk_results()
    _APPLIED["metrics"] = True


def _json_sdk_results() -> None:
    import json

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as sdk,
    )
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    cls: Any = sdk.StateTaskServiceAwsSdk
    original = cls._eval_service_task

    def eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        env.stack.append(json.loads(to_json_str(env.stack.pop())))

    cls._eval_service_task = eval_service_task
