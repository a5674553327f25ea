"""The real stack program of every cell in cells/, run under Pulumi's mocks."""

from __future__ import annotations

import json
from collections import Counter
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Any, cast

import pytest

from fleet.inputs import load_fleet
from fleet.mocking import Inventory, Registered
from model.cells import Cell, Engine, Fleet, Tier
from model.contract import alarm_prefix
from modules.cell.component import TYPE_TOKEN
from modules.cell.profiles import SIZES, TIERS
from modules.cell.workloads import workload_manifests

REPO_ROOT = Path(__file__).resolve().parents[2]
CELL_IDS = load_fleet(REPO_ROOT).ids
PRODUCTS = 5


def expected_counts(cell: Cell) -> Counter[str]:
    """Resources by type for a cell: fixed per tier, scaled by its AZ count."""
    zones = cell.availability_zones
    nats = zones if cell.tier is Tier.ENTERPRISE else 1
    return Counter(
        {
            TYPE_TOKEN: 1,
            "pulumi:providers:aws": 2,  # the cell's region, and the registry's
            "pulumi:providers:kubernetes": 1,
            "aws:ec2/vpc:Vpc": 1,
            "aws:ec2/internetGateway:InternetGateway": 1,
            "aws:ec2/subnet:Subnet": 2 * zones,
            "aws:ec2/routeTableAssociation:RouteTableAssociation": 2 * zones,
            "aws:ec2/eip:Eip": nats,
            "aws:ec2/natGateway:NatGateway": nats,
            "aws:ec2/routeTable:RouteTable": 1 + nats,
            "aws:ec2/flowLog:FlowLog": 1,
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
            "aws:cloudwatch/logGroup:LogGroup": 3,  # services, flow logs, EKS control plane
            "aws:iam/role:Role": 4,
            "aws:iam/rolePolicy:RolePolicy": 1,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 6,
            "aws:kms/key:Key": 3 if cell.hipaa else 2,
            "aws:eks/cluster:Cluster": 1,
            "aws:eks/nodeGroup:NodeGroup": 1,
            "aws:eks/addon:Addon": 1,
            "aws:rds/subnetGroup:SubnetGroup": 1,
            "aws:ec2/securityGroup:SecurityGroup": 2,  # the database's, its clients'
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 1,
            "aws:rds/cluster:Cluster": 1,
            "aws:rds/clusterParameterGroup:ClusterParameterGroup": int(cell.database.engine is Engine.AURORA_MYSQL),
            "aws:rds/clusterInstance:ClusterInstance": {Tier.CANARY: 1, Tier.SMB: 2, Tier.ENTERPRISE: 3}[cell.tier],
            "aws:sns/topic:Topic": 1,
            "aws:cloudwatch/metricAlarm:MetricAlarm": 2,
            "aws:cloudwatch/compositeAlarm:CompositeAlarm": 1,
            "aws:dynamodb/tableItem:TableItem": 1,
            "kubernetes:core/v1:Namespace": 1,
            "kubernetes:networking.k8s.io/v1:NetworkPolicy": 4 + int(cell.flags is not None),  # + the flag sync's egress
            "kubernetes:vpc.amazonaws.com/v1beta1:SecurityGroupPolicy": 1,
            "kubernetes:apps/v1:Deployment": PRODUCTS,
            "kubernetes:core/v1:Service": PRODUCTS,
            "kubernetes:policy/v1:PodDisruptionBudget": PRODUCTS,
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": PRODUCTS,
        }
    )


def one(inventory: Inventory, type_: str, name: str | None = None) -> Registered:
    found = [r for r in inventory.of_type(type_) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def whole(value: Any) -> Any:
    """Pulumi carries numbers as floats; compare manifests with whole numbers as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole(v) for v in value]
    return value


@pytest.fixture(params=CELL_IDS)
def case(request: pytest.FixtureRequest, sample_fleet: Fleet, inventories: dict[str, Inventory]) -> tuple[Cell, Inventory]:
    return sample_fleet.cell(request.param), inventories[request.param]


def test_sample_fleet_shape(sample_fleet: Fleet) -> None:
    tiers = Counter(c.tier for c in sample_fleet.cells)
    assert tiers[Tier.CANARY] >= 1
    assert tiers[Tier.SMB] >= 8
    assert tiers[Tier.ENTERPRISE] >= 3
    assert {"canary-us-internal", "smb-us-1", "enterprise-us-hipaa", "enterprise-eu-standard"} <= set(sample_fleet.ids)


def test_resource_counts_by_type(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    assert Counter(r.type for r in inventory.resources) == expected_counts(cell)


def test_every_aws_resource_is_tagged_through_the_cell_provider(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    provider = one(inventory, "pulumi:providers:aws", f"{cell.id}-aws")
    assert provider.inputs["region"] == cell.region
    assert json.loads(provider.inputs["allowedAccountIds"]) == [cell.account]
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["cell_id"] == cell.id
    assert tags["tier"] == cell.tier.value
    assert tags["managed_by"] == "cellfleet"
    assert set(cell.tags.items()) <= set(tags.items())
    provider_ref = f"{provider.urn}::{provider.state['id']}"
    registry = one(inventory, "pulumi:providers:aws", f"{cell.id}-registry")
    for resource in inventory.resources:
        if not resource.type.startswith("aws:"):
            continue
        if resource.type == "aws:dynamodb/tableItem:TableItem":  # lives in the control plane's table
            assert resource.provider == f"{registry.urn}::{registry.state['id']}"
            continue
        assert resource.provider == provider_ref, resource.name
        assert resource.inputs.get("tags", {}).get("cell_id", cell.id) == cell.id


def test_database_is_encrypted_private_and_protected(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    db = one(inventory, "aws:rds/cluster:Cluster")
    assert db.inputs["storageEncrypted"] is True
    assert db.inputs["manageMasterUserPassword"] is True
    assert "masterPassword" not in db.inputs
    assert db.inputs["deletionProtection"] is True
    assert db.inputs["engine"] == cell.database.engine.value
    assert db.inputs["backupRetentionPeriod"] == TIERS[cell.tier].backup_retention_days
    instances = inventory.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert all(i.inputs["publiclyAccessible"] is False for i in instances)
    assert all(i.inputs["instanceClass"] == SIZES[cell.size].db_instance_class for i in instances)
    subnet_group = one(inventory, "aws:rds/subnetGroup:SubnetGroup")
    private = {r.state["id"] for r in inventory.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name}
    assert set(subnet_group.inputs["subnetIds"]) == private
    enterprise = cell.tier is Tier.ENTERPRISE
    assert db.protect is enterprise
    assert all(i.protect is enterprise for i in instances)
    assert db.inputs["skipFinalSnapshot"] is not enterprise
    assert ("finalSnapshotIdentifier" in db.inputs) is enterprise


def test_hipaa_cell_has_its_own_database_key(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    db = one(inventory, "aws:rds/cluster:Cluster")
    if cell.hipaa:
        key = one(inventory, "aws:kms/key:Key", f"{cell.id}-db-key")
        assert key.inputs["enableKeyRotation"] is True
        assert db.inputs["kmsKeyId"] == key.state["arn"]
        assert db.inputs["masterUserSecretKmsKeyId"] == key.state["arn"]
    else:
        assert "kmsKeyId" not in db.inputs


def test_eks_secrets_encrypted_and_endpoint_by_tier(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    cluster = one(inventory, "aws:eks/cluster:Cluster")
    key = one(inventory, "aws:kms/key:Key", f"{cell.id}-eks-secrets")
    assert cluster.inputs["encryptionConfig"] == {"provider": {"keyArn": key.state["arn"]}, "resources": ["secrets"]}
    assert cluster.inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is bool(cell.public_access_cidrs)
    nodes = one(inventory, "aws:eks/nodeGroup:NodeGroup")
    size = SIZES[cell.size]
    scaling = nodes.inputs["scalingConfig"]
    expected = [size.nodes_min, size.nodes_desired, size.nodes_max]
    assert [scaling["minSize"], scaling["desiredSize"], scaling["maxSize"]] == expected
    assert nodes.inputs["instanceTypes"] == list(size.node_instance_types)


def test_iam_uses_managed_policies_and_no_wildcard_actions(case: tuple[Cell, Inventory]) -> None:
    _, inventory = case
    for attachment in inventory.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        assert attachment.inputs["policyArn"].startswith("arn:aws:iam::aws:policy/")
    for policy in inventory.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), policy.name


def test_network_spans_zones_with_nat_per_az_for_enterprise(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    subnets = inventory.of_type("aws:ec2/subnet:Subnet")
    zones = {s.inputs["availabilityZone"] for s in subnets}
    assert len(zones) == cell.availability_zones
    assert all(z.startswith(cell.region) for z in zones)
    for subnet in subnets:
        assert cell.vpc_cidr.supernet_of(cast(IPv4Network, ip_network(subnet.inputs["cidrBlock"])))
    nats = inventory.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (cell.availability_zones if cell.tier is Tier.ENTERPRISE else 1)
    flow = one(inventory, "aws:ec2/flowLog:FlowLog")
    assert flow.inputs["vpcId"] == one(inventory, "aws:ec2/vpc:Vpc").state["id"]
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"


def test_alarm_names_follow_the_convention(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    alarms = {a.inputs["name"]: a for a in inventory.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {f"cell-{cell.id}-error-rate", f"cell-{cell.id}-p99-latency"}
    assert alarms[f"cell-{cell.id}-error-rate"].inputs["threshold"] == 0.1
    latency = alarms[f"cell-{cell.id}-p99-latency"].inputs
    assert (latency["threshold"], latency["extendedStatistic"], latency["unit"]) == (500, "p99", "Milliseconds")
    health = one(inventory, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert health.inputs["alarmName"] == f"cell-{cell.id}-health"
    assert health.inputs["alarmRule"] == f'ALARM("cell-{cell.id}-error-rate") OR ALARM("cell-{cell.id}-p99-latency")'
    # issue 16: a cell's alarms never page on their own; the fleet-level issue-type composites do
    assert not health.inputs.get("alarmActions") and not health.inputs.get("okActions")
    assert all(name.startswith(alarm_prefix(cell.id)) for name in [*alarms, health.inputs["alarmName"]])


def test_parent_chain_reaches_the_component(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    component = one(inventory, TYPE_TOKEN, cell.id)
    by_urn = inventory.by_urn()
    for resource in inventory.resources:
        if resource is component:
            continue
        assert resource.name.startswith(f"{cell.id}-")
        urn = resource.parent
        while urn in by_urn and urn != component.urn:
            urn = by_urn[urn].parent
        assert urn == component.urn, resource.name


def test_workloads_are_registered_from_the_one_definition(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    k8s_provider = one(inventory, "pulumi:providers:kubernetes")
    kubeconfig = json.loads(k8s_provider.inputs["kubeconfig"])
    cluster = one(inventory, "aws:eks/cluster:Cluster")
    assert kubeconfig["clusters"][0]["cluster"]["server"] == cluster.state["endpoint"]
    registered = {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): r for r in inventory.resources if r.type.startswith("kubernetes:")
    }
    manifests = workload_manifests(cell)
    assert len(registered) == len(manifests) + 1  # and the SecurityGroupPolicy, which needs the groups' ids
    for manifest in manifests:
        resource = registered[(manifest["kind"], manifest["metadata"]["name"])]
        assert resource.provider.startswith(k8s_provider.urn)
        assert whole(resource.inputs) == manifest
    for product, service in cell.services.items():
        pod = registered[("Deployment", f"{product.value}-service")].inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        containers = {c["name"]: c for c in pod["containers"]}
        container = containers.pop(product.value)
        assert list(containers) == (["flagd"] if cell.flags else [])
        pinned = f"@{service.image_digest}" if service.image_digest else ""
        assert container["image"].endswith(f":{service.release}{pinned}")
        assert {"name": "API_VERSIONS", "value": ",".join(service.api_versions)} in container["env"]
        assert {"requests", "limits"} <= set(container["resources"])
        assert "readinessProbe" in container
        assert "livenessProbe" in container


def test_registry_item_records_versions_and_endpoints(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    item_resource = one(inventory, "aws:dynamodb/tableItem:TableItem")
    assert item_resource.inputs["tableName"] == "cellfleet-cell-registry"
    assert item_resource.inputs["hashKey"] == "cell_id"
    item = json.loads(item_resource.inputs["item"])
    assert item["cell_id"] == {"S": cell.id}
    assert item["tier"] == {"S": cell.tier.value}
    assert item["region"] == {"S": cell.region}
    versions = {k: [v["S"] for v in lst["L"]] for k, lst in item["versions"]["M"].items()}
    assert versions == {p.value: list(s.api_versions) for p, s in cell.services.items()}
    releases = {k: v["S"] for k, v in item["releases"]["M"].items()}
    assert releases == {p.value: s.release for p, s in cell.services.items()}
    endpoints = {k: v["S"] for k, v in item["endpoints"]["M"].items()}
    assert endpoints["database"] == one(inventory, "aws:rds/cluster:Cluster").state["endpoint"]
    assert endpoints["kubernetes_api"] == one(inventory, "aws:eks/cluster:Cluster").state["endpoint"]
    assert not {"status", "deployed_version", "previous_version"} & set(item)  # the pipeline's attributes


def test_exported_outputs_resolve(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    outputs = inventory.outputs
    assert (outputs["cell_id"], outputs["tier"], outputs["region"]) == (cell.id, cell.tier.value, cell.region)
    assert outputs["alarm_names"] == [f"cell-{cell.id}-{kind}" for kind in ("error-rate", "p99-latency", "health")]
    for key in ("vpc_id", "cluster_endpoint", "kubeconfig", "database_endpoint", "database_reader_endpoint", "paging_topic_arn"):
        assert isinstance(outputs[key], str), key
        assert outputs[key], key
    assert outputs["cluster_name"] == cell.id
    assert outputs["database_endpoint"] == one(inventory, "aws:rds/cluster:Cluster").state["endpoint"]
