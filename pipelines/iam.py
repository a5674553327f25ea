"""Least privilege for the pipeline role, derived from the generated definitions themselves.

Every Task state's `Resource` says which API it calls, and its `Parameters` say on what
(topic, bus, table, state machine). The policy allows exactly those actions on exactly those
resources, so it cannot drift from the definitions. Logging and X-Ray delivery, which AWS
only grants on `*`, are a separate, fixed policy (`observability_policy`); so is the bake checks'
`cloudwatch:GetMetricData` (`pipelines.health_checks`), which has no resource-level permissions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pipelines.asl import INTEGRATION_PREFIX as PREFIX
from pipelines.targets import Targets

JSON = dict[str, Any]


def tasks(definition: JSON) -> Iterator[JSON]:
    """Every Task state of a definition, including those inside Map processors."""
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Task":
            yield state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from tasks(processor)


def readers(definition: JSON) -> Iterator[JSON]:
    """Every Distributed Map state (one with an `ItemReader`), including nested ones."""
    for state in definition.get("States", {}).values():
        if state.get("ItemReader"):
            yield state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from readers(processor)


def _reader_grants(definition: JSON, kind: str, targets: Targets) -> dict[str, set[str]]:
    """A Distributed Map reads the pinned version of a plan object and runs child executions of its own machine."""
    out: dict[str, set[str]] = defaultdict(set)
    for state in readers(definition):
        if state["ItemReader"]["Parameters"]["Bucket"] != targets.plan_bucket:
            raise ValueError(f"ItemReader outside the plan bucket: {state['ItemReader']['Parameters']['Bucket']!r}")
        out[targets.plans_arn()].update({"s3:GetObject", "s3:GetObjectVersion"})
        out[targets.machine_arn(kind)].add("states:StartExecution")
        out[targets.map_run_executions_arn(kind)].update({"states:DescribeExecution", "states:StopExecution"})
    return out


def _integration(resource: str) -> tuple[str, str, str]:
    """`arn:aws:states:::sns:publish.waitForTaskToken` -> ("sns", "publish", "waitForTaskToken")."""
    if not resource.startswith(PREFIX):
        raise ValueError(f"unsupported Task resource {resource!r}")
    rest = resource[len(PREFIX):]
    if rest.startswith("aws-sdk:"):
        _, service, action = rest.split(":")
        return service, action, ""
    service, _, call = rest.partition(":")
    action, _, pattern = call.partition(".")
    return service, action, pattern


def _iam_action(service: str, action: str) -> str:
    prefix = {"states": "states", "sns": "sns", "events": "events", "dynamodb": "dynamodb",
              "cloudwatch": "cloudwatch"}[service]
    return f"{prefix}:{action[:1].upper()}{action[1:]}"


def grants(definition: JSON, targets: Targets) -> dict[str, set[str]]:
    """resource ARN -> IAM actions the definition needs on it."""
    out: dict[str, set[str]] = defaultdict(set)
    for task in tasks(definition):
        service, action, pattern = _integration(task["Resource"])
        params = task.get("Parameters", {})
        iam_action = _iam_action(service, action)
        if service == "sns":
            out[params["TopicArn"]].add(iam_action)
        elif service == "events":
            for entry in params["Entries"]:
                out[targets.event_bus_arn if entry["EventBusName"] == targets.event_bus else entry["EventBusName"]].add(
                    iam_action)
        elif service == "dynamodb":
            out[targets.table_arn(params["TableName"])].add(iam_action)
        elif service == "cloudwatch":
            # GetMetricData has no resource-level permissions: AWS only grants it on `*` (the action stays named).
            out["*" if action == "getMetricData" else targets.alarms_arn()].add(iam_action)
        elif service == "states":
            machine = params["StateMachineArn"]
            out[machine].add(iam_action)
            if pattern.startswith("sync"):
                kind = machine.rsplit(":", 1)[1].removeprefix(f"{targets.prefix}-")
                out[targets.executions_arn(kind)].update({"states:DescribeExecution", "states:StopExecution"})
                out[targets.sync_rule_arn].update({"events:PutTargets", "events:PutRule", "events:DescribeRule"})
        else:  # pragma: no cover - _iam_action already rejects other services
            raise ValueError(service)
    return out


def definitions_policy(definitions: dict[str, JSON], targets: Targets) -> JSON:
    """One IAM policy document for every machine: only used actions, only named resources."""
    merged: dict[str, set[str]] = defaultdict(set)
    for kind, definition in definitions.items():
        for resource, actions in (*grants(definition, targets).items(), *_reader_grants(definition, kind, targets).items()):
            merged[resource].update(actions)
    by_actions: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for resource, actions in merged.items():
        by_actions[tuple(sorted(actions))].append(resource)
    statements = [
        {"Sid": f"Pipeline{i}", "Effect": "Allow", "Action": list(actions), "Resource": sorted(resources)}
        for i, (actions, resources) in enumerate(sorted(by_actions.items()))
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def observability_policy() -> JSON:
    """CloudWatch Logs delivery and X-Ray tracing for Step Functions (AWS grants these on `*` only)."""
    return {"Version": "2012-10-17", "Statement": [
        {
            "Sid": "LogDelivery",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
                "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
            ],
            "Resource": "*",
        },
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords",
                       "xray:PutTraceSegments"],
            "Resource": "*",
        },
    ]}
