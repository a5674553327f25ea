"""The observability resources of the control-plane stack: dashboards, fleet composite alarms, the paging topic.

Called by the control-plane program (`fleet.stacks`); the specs come from `observability_specs`.
Only the top composite of each issue type has actions, so an incident in N cells pages once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from model.cells import Fleet
from model.jsonio import compact
from observability.settings import ObservabilitySettings
from observability.specs import observability_specs
from pipelines.waves import Plan

NAME = "observability"


@dataclass(frozen=True)
class ObservabilityResources:
    paging_topic: aws.sns.Topic
    dashboards: list[aws.cloudwatch.Dashboard]
    composites: list[aws.cloudwatch.CompositeAlarm]


def build_observability(fleet: Fleet, plan: Plan, settings: ObservabilitySettings,
                        opts: pulumi.ResourceOptions | None = None) -> ObservabilityResources:
    """Register the dashboards and fleet alarms of `fleet`; parts of a tree before the composite naming them."""
    specs = observability_specs(fleet, plan, settings)
    topic = aws.sns.Topic(f"{NAME}-paging", name=settings.paging_topic, kms_master_key_id="alias/aws/sns", opts=opts)
    boards = [
        aws.cloudwatch.Dashboard(f"{NAME}-{board.name}", dashboard_name=board.name, dashboard_body=compact(board.body),
                                 opts=opts)
        for board in specs.dashboards
    ]
    created: dict[str, aws.cloudwatch.CompositeAlarm] = {}
    for spec in specs.composites:
        actions = [topic.arn] if spec.pages else []
        parts = [created[child] for child in spec.children if child in created]
        created[spec.name] = aws.cloudwatch.CompositeAlarm(
            f"{NAME}-{spec.name}",
            alarm_name=spec.name,
            alarm_rule=spec.rule,
            alarm_description=spec.description,
            alarm_actions=actions,
            ok_actions=actions,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=parts)),
        )
    return ObservabilityResources(paging_topic=topic, dashboards=boards, composites=list(created.values()))
