"""Observability: service log group, paging topic, and the alarms the rollout pipeline watches.

The pipeline reads health with DescribeAlarms on the prefix `cell-<id>-` (fleet.contract);
the services publish `Requests`, `Errors` and `Latency` (ms) to METRIC_NAMESPACE with a CellId dimension;
each alarm measures its issue type as `model.contract.ISSUE_MEASURES` says (the pipeline's bake checks too).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from model.contract import CELL_DIMENSION, ISSUE_MEASURES, METRIC_NAMESPACE, IssueType
from modules.cell.args import ObservabilityArgs

PERIOD_SECONDS = 60
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3


@dataclass(frozen=True)
class Observability:
    log_group: aws.cloudwatch.LogGroup
    paging_topic: aws.sns.Topic
    alarms: list[aws.cloudwatch.MetricAlarm]
    health: aws.cloudwatch.CompositeAlarm


def _metric(query_id: str, metric: str, stat: str, cell_id: pulumi.Input[str]) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=METRIC_NAMESPACE,
            metric_name=metric,
            dimensions={CELL_DIMENSION: cell_id},
            period=PERIOD_SECONDS,
            stat=stat,
        ),
    )


def build_observability(
    name: str,
    cell_id: pulumi.Input[str],
    args: ObservabilityArgs,
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> Observability:
    """Log group, SNS paging topic, error-rate and p99 alarms, and the composite health alarm.

    None of them pages: `observability.alarms` builds the fleet-level composites that do.
    """
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-services",
        name=args.log_group_name,
        retention_in_days=args.log_retention_days,
        kms_key_id=key_arn,
        tags=dict(args.log_group_tags),
        opts=opts,
    )
    rate, p99 = ISSUE_MEASURES[IssueType.ERROR_RATE], ISSUE_MEASURES[IssueType.P99_LATENCY].queries[0]
    topic = aws.sns.Topic(f"{name}-paging", name=args.paging_topic_name, kms_master_key_id=key_arn, opts=opts)
    error_rate = aws.cloudwatch.MetricAlarm(
        f"{name}-error-rate",
        name=args.error_rate_alarm,
        alarm_description="Share of failed requests (percent) above the rollout threshold",
        comparison_operator="GreaterThanThreshold",
        threshold=args.error_rate_percent,
        evaluation_periods=EVALUATION_PERIODS,
        datapoints_to_alarm=DATAPOINTS_TO_ALARM,
        treat_missing_data="notBreaching",
        metric_queries=[
            *(_metric(q.id, q.metric, q.stat, cell_id) for q in rate.queries),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="error_rate",
                expression=rate.expression,
                label="Error rate (%)",
                return_data=True,
            ),
        ],
        opts=opts,
    )
    latency = aws.cloudwatch.MetricAlarm(
        f"{name}-p99-latency",
        name=args.latency_alarm,
        alarm_description="p99 request latency (ms) above the rollout threshold",
        namespace=METRIC_NAMESPACE,
        metric_name=p99.metric,
        dimensions={CELL_DIMENSION: cell_id},
        extended_statistic=p99.stat,
        unit="Milliseconds",
        period=PERIOD_SECONDS,
        comparison_operator="GreaterThanThreshold",
        threshold=args.p99_latency_ms,
        evaluation_periods=EVALUATION_PERIODS,
        datapoints_to_alarm=DATAPOINTS_TO_ALARM,
        treat_missing_data="notBreaching",
        opts=opts,
    )
    health = aws.cloudwatch.CompositeAlarm(
        f"{name}-health",
        alarm_name=args.health_alarm,
        alarm_description="The cell is unhealthy: error rate or p99 latency alarm",
        alarm_rule=pulumi.Output.format('ALARM("{0}") OR ALARM("{1}")', error_rate.name, latency.name),
        # No actions: the fleet-level composite of each issue type pages once for every cell.
        opts=opts,
    )
    return Observability(log_group=log_group, paging_topic=topic, alarms=[error_rate, latency], health=health)
