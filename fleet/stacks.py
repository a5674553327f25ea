"""Which program a Pulumi stack runs (an explicit table), and the programs: config in, capabilities called.

A cell id builds that cell; `landing-zone` and `control-plane` are reserved. This is the only
place a stack's Pulumi config and the clock are read; the capabilities get typed settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pulumi
import pulumi_aws as aws
from pydantic import ValidationError

import runtime
from fleet.inputs import FleetInputs, load_fleet, load_inputs
from gitops.deployer import LAMBDA_TIMEOUT_SECONDS, deployer_environment, deployer_policy
from landing_zone.lifecycle import compile_edge
from landing_zone.readiness import declared_support, gate
from landing_zone.stack import DEFAULT_CELL_HOST_SUFFIX, LandingZoneSettings, build_landing_zone
from migrations.deploy import build_orchestrators
from model.cells import Cell as CellModel
from model.cells import Fleet
from model.contract import (
    ARGOCD_CONTROLLER_ROLE_KEY,
    ARGOCD_HUB_KUBECONFIG_KEY,
    ARGOCD_TOKEN_SECRET_KEY,
    ARGOCD_URL_KEY,
    CONFIG_NAMESPACE,
    CONTROL_PLANE_STACK,
    DEFAULT_APPROVALS_TOPIC,
    DEFAULT_EVENT_BUS,
    DEFAULT_NOTIFICATIONS_TOPIC,
    DEFAULT_REGISTRY_REGION,
    DEFAULT_REGISTRY_TABLE,
    DEFAULT_ROLLOUT_TABLE,
    DEFAULT_ROUTER_TABLE,
    LANDING_ZONE_STACK,
    REGISTRY_REGION_KEY,
    REGISTRY_ROLE_KEY,
    REGISTRY_TABLE_KEY,
    RELEASE_CONFIG,
    RELEASE_KEY,
    ROLLOUT_TABLE_KEY,
    Delivery,
)
from modules.cell.args import cell_args
from modules.cell.component import Cell
from observability.settings import ObservabilitySettings
from observability.stack import build_observability
from pipelines.control_plane import ControlPlaneSettings, LambdaDeployer, build_control_plane
from pipelines.deployer import PulumiCli
from pipelines.targets import Targets

Program = Callable[[], None]
ROUTER_SOURCE = Path(runtime.__file__).resolve().parent / "cell_router.py"
ARGOCD_DEPLOYER_SOURCE = Path(runtime.__file__).resolve().parent / "argocd_deployer.py"
CODEBUILD_HANDOFF_SOURCE = Path(runtime.__file__).resolve().parent / "codebuild_handoff.py"


class StackError(Exception):
    """The stack name selects no program; the message says why and what is valid."""


def cell_program(cell: CellModel) -> None:
    """A cell's stack: the Cell component from the cell's variables, its outputs exported."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    release = config.get(RELEASE_KEY)
    if release is not None:
        try:
            cell = cell.with_release(release)
        except ValidationError:
            raise pulumi.RunError(f"config {RELEASE_CONFIG}: {release!r} is not a semantic version") from None
    args = cell_args(
        cell,
        config.get(REGISTRY_TABLE_KEY) or DEFAULT_REGISTRY_TABLE,
        registry_region=config.get(REGISTRY_REGION_KEY) or DEFAULT_REGISTRY_REGION,
        registry_role_arn=config.get(REGISTRY_ROLE_KEY),
        argocd_controller_role_arn=config.get(ARGOCD_CONTROLLER_ROLE_KEY),
        argocd_hub_kubeconfig=config.get_secret(ARGOCD_HUB_KUBECONFIG_KEY),
    )
    component = Cell(cell.id, args)
    pulumi.export("cell_id", cell.id)
    pulumi.export("tier", cell.tier.value)
    pulumi.export("region", cell.region)
    pulumi.export("vpc_id", component.vpc_id)
    pulumi.export("cluster_name", component.cluster_name)
    pulumi.export("cluster_endpoint", component.cluster_endpoint)
    pulumi.export("kubeconfig", component.kubeconfig)
    pulumi.export("database_endpoint", component.database_endpoint)
    pulumi.export("database_reader_endpoint", component.database_reader_endpoint)
    pulumi.export("paging_topic_arn", component.paging_topic_arn)
    pulumi.export("alarm_names", component.alarm_names)


def landing_zone_program(inputs: FleetInputs) -> None:
    """The edge for the day in `cellfleet:gatewayAt` (default today, UTC), gated on the cells' versions."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    at_text = config.get("gatewayAt")
    try:
        at = date.fromisoformat(at_text) if at_text else datetime.now(UTC).date()
    except ValueError:
        raise pulumi.RunError(f"config {CONFIG_NAMESPACE}:gatewayAt: {at_text!r} is not a date like 2025-06-01") from None
    plan = compile_edge(inputs.routes, at)
    gate(inputs.routes, plan, declared_support(inputs.fleet), inputs.fleet.ids)
    keys = tuple(k.strip() for k in (config.get("apiKeys") or "default").split(",") if k.strip())
    build_landing_zone(plan, LandingZoneSettings(
        router_source=ROUTER_SOURCE,
        key_names=keys,
        stage_name=config.get("stageName") or "live",
        router_table=config.get("routerTable") or DEFAULT_ROUTER_TABLE,
        cell_host_suffix=config.get("cellHostSuffix") or DEFAULT_CELL_HOST_SUFFIX,
    ))


def control_plane_names(region: str, account: str = "000000000000") -> Targets:
    """The channel names the control-plane stack's config chooses (contract defaults otherwise)."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    return Targets(
        region=region,
        account=account,
        event_bus=config.get("eventBus") or DEFAULT_EVENT_BUS,
        approvals_topic=config.get("approvalsTopic") or DEFAULT_APPROVALS_TOPIC,
        notifications_topic=config.get("notificationsTopic") or DEFAULT_NOTIFICATIONS_TOPIC,
        registry_table=config.get(REGISTRY_TABLE_KEY) or DEFAULT_REGISTRY_TABLE,
        rollout_table=config.get(ROLLOUT_TABLE_KEY) or DEFAULT_ROLLOUT_TABLE,
    )


def control_plane_program(inputs: FleetInputs) -> None:
    """The pipeline's control plane and one orchestrator per migration of the fleet."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    region = pulumi.Config("aws").get("region") or "us-east-1"
    account: pulumi.Input[str] = config.get("account") or aws.get_caller_identity_output().account_id
    built = build_control_plane(inputs.plan, ControlPlaneSettings(
        names=control_plane_names(region),
        account=account,
        handoff_source=CODEBUILD_HANDOFF_SOURCE,
        repository=config.get("repository"),
        log_retention_days=config.get_int("logRetentionDays") or 365,
        pulumi_cli=PulumiCli(sha256=config.get("pulumiCliSha256")),
        lambda_deployer=argocd_deployer(inputs, config),
    ))
    build_orchestrators(list(inputs.migrations), built.targets, built.names, built.log_group_arn)
    build_observability(inputs.fleet, inputs.plan, ObservabilitySettings(region=region))  # issue 16


def argocd_deployer(inputs: FleetInputs, config: pulumi.Config) -> LambdaDeployer | None:
    """The Argo CD deployer Lambda of a GitOps fleet (None for Pulumi delivery: CodeBuild deploys)."""
    if not inputs.fleet.cells or inputs.fleet.cells[0].delivery is not Delivery.GITOPS:
        return None
    url, secret = config.get(ARGOCD_URL_KEY), config.get(ARGOCD_TOKEN_SECRET_KEY)
    missing = [key for key, value in ((ARGOCD_URL_KEY, url), (ARGOCD_TOKEN_SECRET_KEY, secret)) if not value]
    if missing or url is None or secret is None:
        raise pulumi.RunError("; ".join(
            f"config {CONFIG_NAMESPACE}:{key}: required when the fleet's delivery is gitops" for key in missing))
    timeout = int(inputs.policy.deploy_timeout.total_seconds())
    return LambdaDeployer(
        source=ARGOCD_DEPLOYER_SOURCE,
        handler="argocd_deployer.handler",
        timeout_seconds=LAMBDA_TIMEOUT_SECONDS,
        environment=deployer_environment(url, secret, timeout),
        policy=lambda targets, log_group_arn: deployer_policy(targets, secret, log_group_arn),
    )


RESERVED: dict[str, Callable[[FleetInputs], None]] = {
    LANDING_ZONE_STACK: landing_zone_program,
    CONTROL_PLANE_STACK: control_plane_program,
}


def valid_stacks(fleet: Fleet) -> list[str]:
    return [*sorted(RESERVED), *fleet.ids]


def program_for(stack: str, root: Path, fleet: Fleet | None = None) -> Program:
    """The program of stack `stack` of the fleet under `root`, or StackError naming the valid stacks.

    A cell's program needs only the cells (`fleet`, loaded once by callers that run many); the
    reserved stacks load every input.
    """
    fleet = fleet or load_fleet(root)
    if stack in RESERVED:
        inputs = load_inputs(root)
        program = RESERVED[stack]
        return lambda: program(inputs)
    if stack in fleet:
        cell = fleet.cell(stack)
        return lambda: cell_program(cell)
    if fleet.retiring(stack) is not None:
        raise StackError(f"cell {stack!r} is being decommissioned (decommission: true): no more updates; "
                         "the decommission workflow destroys its stack")
    raise StackError(f"unknown stack {stack!r}; valid stacks: {', '.join(valid_stacks(fleet))}")


def run_stack(stack: str, root: Path) -> None:
    """Run the program of `stack` for the fleet under `root` (called by `__main__.py`)."""
    program_for(stack, root)()
