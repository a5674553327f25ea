"""Where the observability artefacts point: the control-plane region, the runbooks, Argo CD, the registry."""

from __future__ import annotations

from dataclasses import dataclass

from model.contract import (
    DEFAULT_PAGING_TOPIC,
    DEFAULT_PREFIX,
    DEFAULT_REGISTRY_REGION,
    DEFAULT_REGISTRY_TABLE,
    DEFAULT_RUNBOOK_BASE,
)


@dataclass(frozen=True)
class ObservabilitySettings:
    """What the control-plane stack's config chooses (contract defaults otherwise)."""

    region: str = DEFAULT_REGISTRY_REGION  # where the dashboards and fleet alarms live
    account: str = "123456789012"
    runbook_base: str = DEFAULT_RUNBOOK_BASE
    argocd_url: str = "https://argocd.cellfleet.internal"
    registry_table: str = DEFAULT_REGISTRY_TABLE
    registry_region: str = DEFAULT_REGISTRY_REGION
    paging_topic: str = DEFAULT_PAGING_TOPIC
    pipeline_log_group: str = f"/aws/vendedlogs/states/{DEFAULT_PREFIX}-pipeline"

    @property
    def paging_topic_arn(self) -> str:
        return f"arn:aws:sns:{self.region}:{self.account}:{self.paging_topic}"
