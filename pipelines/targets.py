"""Where the pipeline's channels live (DESIGN.md, pipeline integration contract): names and ARNs.

One value object, so the definitions, the IAM policy derived from them, the control-plane
stack and the operator commands all agree on the same bus, topics, table and machines.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.contract import (
    ALARM_GLOB,
    DEFAULT_APPROVALS_TOPIC,
    DEFAULT_EVENT_BUS,
    DEFAULT_NOTIFICATIONS_TOPIC,
    DEFAULT_PREFIX,
    DEFAULT_REGISTRY_TABLE,
    DEFAULT_ROLLOUT_TABLE,
)

PLANS_PREFIX = "plans/"  # key prefix of the rollout plans in the plan bucket


@dataclass(frozen=True)
class Targets:
    """Account, region and the names of everything the state machines talk to."""

    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    prefix: str = DEFAULT_PREFIX
    event_bus: str = DEFAULT_EVENT_BUS
    approvals_topic: str = DEFAULT_APPROVALS_TOPIC
    notifications_topic: str = DEFAULT_NOTIFICATIONS_TOPIC
    registry_table: str = DEFAULT_REGISTRY_TABLE  # the cells' declared facts (owned by the cell stacks)
    rollout_table: str = DEFAULT_ROLLOUT_TABLE  # rollout state per cell (owned by the pipeline)

    def _arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    def machine_name(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def machine_arn(self, kind: str) -> str:
        return self._arn("states", f"stateMachine:{self.machine_name(kind)}")

    def executions_arn(self, kind: str) -> str:
        """Every execution of one machine (what DescribeExecution/StopExecution act on)."""
        return self._arn("states", f"execution:{self.machine_name(kind)}:*")

    def map_run_executions_arn(self, kind: str) -> str:
        """The child executions of one machine's Distributed Map runs (`execution:<machine>/<map run>:<id>`)."""
        return self._arn("states", f"execution:{self.machine_name(kind)}/*")

    def topic_arn(self, name: str) -> str:
        return self._arn("sns", name)

    @property
    def approvals_topic_arn(self) -> str:
        return self.topic_arn(self.approvals_topic)

    @property
    def notifications_topic_arn(self) -> str:
        return self.topic_arn(self.notifications_topic)

    @property
    def event_bus_arn(self) -> str:
        return self._arn("events", f"event-bus/{self.event_bus}")

    def table_arn(self, name: str) -> str:
        return self._arn("dynamodb", f"table/{name}")

    @property
    def registry_table_arn(self) -> str:
        return self.table_arn(self.registry_table)

    @property
    def rollout_table_arn(self) -> str:
        return self.table_arn(self.rollout_table)

    def alarms_arn(self) -> str:
        """The cell alarms the health checks read (every name starts with `cell-`)."""
        return self._arn("cloudwatch", f"alarm:{ALARM_GLOB}")

    @property
    def plan_bucket(self) -> str:
        """The control plane's bucket of rollout plans (`fleet rollout start` writes, the machines read)."""
        return f"{self.prefix}-plans-{self.account}-{self.region}"

    def plans_arn(self) -> str:
        """Every plan object (the machines may read only under `PLANS_PREFIX`)."""
        return f"arn:{self.partition}:s3:::{self.plan_bucket}/{PLANS_PREFIX}*"

    @property
    def sync_rule_arn(self) -> str:
        """The managed rule Step Functions uses to follow `.sync` child executions."""
        return self._arn("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")
