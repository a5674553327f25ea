"""Least exposure of a cell, on its stack program under Pulumi's mocks (issue 10, cells).

Private EKS endpoint unless the cell file allow-lists networks, default-deny NetworkPolicies
with the three allowed flows, the database reachable only from its clients' security group,
images by digest, no service-account tokens, encrypted logs and paging, the default security
group emptied, and the RDS controls of AWS Foundational Security Best Practices.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from fleet.cli import main
from fleet.mocking import Inventory, Registered, new_event_loop
from fleet.preview import preview_cell
from model.cells import Cell, Engine, Fleet
from modules.cell.keys import observability_key_policy
from modules.cell.profiles import DB_PORTS
from modules.cell.subnets import subnet_cidrs
from modules.cell.workloads import HTTP_PORT, NAMESPACE, workload_manifests
from tests.cell.conftest import REPO_ROOT
from tests.cell.test_cell_resources import CELL_IDS, one


@pytest.fixture(params=CELL_IDS)
def case(request: pytest.FixtureRequest, sample_fleet: Fleet, inventories: dict[str, Inventory]) -> tuple[Cell, Inventory]:
    return sample_fleet.cell(request.param), inventories[request.param]


def _kind(inventory: Inventory, kind: str) -> list[Registered]:
    return [r for r in inventory.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind]


def test_eks_endpoint_is_private_in_every_sample_cell(case: tuple[Cell, Inventory]) -> None:
    _, inventory = case
    vpc = one(inventory, "aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_public_endpoint_only_for_the_cell_files_allow_list(sample_fleet: Fleet) -> None:
    cell = sample_fleet.cell("smb-us-1")
    allowed = Cell.model_validate({**cell.model_dump(), "public_access_cidrs": ["52.95.110.0/24"]})
    new_event_loop()
    vpc = one(preview_cell(allowed), "aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["publicAccessCidrs"]) == (True, ["52.95.110.0/24"])


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("0.0.0.0/0", "0.0.0.0/0 is not a public network no wider than /8"),
        ("10.0.0.0/8", "10.0.0.0/8 is not a public network no wider than /8"),
        ("52.95.110.0/33", "public_access_cidrs[0]: Input is not a valid IPv4 network"),
    ],
)
def test_open_or_private_allow_list_refused_with_its_line(
    cidr: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO_ROOT / "cells", tmp_path / "cells")
    cell_file = tmp_path / "cells" / "smb-us-1.yaml"
    lines = cell_file.read_text().splitlines()
    cell_file.write_text("\n".join([*lines, f'public_access_cidrs: ["{cidr}"]']) + "\n")
    monkeypatch.setattr(sys, "argv", ["fleet", "check", "--root", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert f"cells/smb-us-1.yaml:{len(lines) + 1}: public_access_cidrs" in err
    assert message in err
    assert "Traceback" not in err


def test_malformed_digest_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO_ROOT / "cells", tmp_path / "cells")
    cell_file = tmp_path / "cells" / "smb-us-1.yaml"
    lines = cell_file.read_text().splitlines()
    cell_file.write_text("\n".join([*lines, "services:", '  sms: {image_digest: "latest"}']) + "\n")
    monkeypatch.setattr(sys, "argv", ["fleet", "check", "--root", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert f"cells/smb-us-1.yaml:{len(lines) + 2}: services.sms.image_digest: 'latest' is not an image digest" in err


def _policies(cell: Cell) -> dict[str, dict[str, Any]]:
    found = [m for m in workload_manifests(cell) if m["kind"] == "NetworkPolicy"]
    assert all(m["metadata"]["namespace"] == NAMESPACE for m in found)
    return {m["metadata"]["name"]: m["spec"] for m in found}


def test_namespace_denies_by_default_and_allows_only_the_needed_flows(sample_fleet: Fleet) -> None:
    for cell in sample_fleet.cells:
        policies = _policies(cell)
        private, public = subnet_cidrs(cell.vpc_cidr, cell.availability_zones)
        deny = policies.pop("default-deny")
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        flag_sync = policies.pop("allow-egress-to-flag-source", None)
        ingress = [rule for spec in policies.values() for rule in spec.get("ingress", [])]
        egress = [rule for spec in policies.values() for rule in spec.get("egress", [])]
        edge = [{"ipBlock": {"cidr": c}} for c in public]
        assert ingress == [{"from": edge, "ports": [{"protocol": "TCP", "port": HTTP_PORT}]}]
        database, dns = egress
        assert database == {
            "to": [{"ipBlock": {"cidr": c}} for c in private],
            "ports": [{"protocol": "TCP", "port": DB_PORTS[cell.database.engine]}],
        }
        assert {p["port"] for p in dns["ports"]} == {53}
        assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
        assert not any("0.0.0.0/0" in json.dumps(spec) for spec in policies.values())
        # The flagd sidecar's sync: HTTPS only, and never into the VPC (the database, other pods).
        assert cell.flags is not None and flag_sync is not None
        (sync,) = flag_sync["egress"]
        assert sync == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [str(cell.vpc_cidr)]}}],
                        "ports": [{"protocol": "TCP", "port": 443}]}


def test_the_cni_enforces_policies_and_pod_security_groups(case: tuple[Cell, Inventory]) -> None:
    _, inventory = case
    addon = one(inventory, "aws:eks/addon:Addon")
    assert addon.inputs["addonName"] == "vpc-cni"
    config = json.loads(addon.inputs["configurationValues"])
    assert config["enableNetworkPolicy"] == "true" and config["env"]["ENABLE_POD_ENI"] == "true"


def test_database_admits_only_its_clients_security_group(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    groups = {r.name: r for r in inventory.of_type("aws:ec2/securityGroup:SecurityGroup")}
    database, clients = groups[f"{cell.id}-db"], groups[f"{cell.id}-db-clients"]
    port = DB_PORTS[cell.database.engine]
    (rule,) = database.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["securityGroups"]) == (port, port, [clients.state["id"]])
    assert "cidrBlocks" not in rule
    assert "ingress" not in clients.inputs and "egress" not in clients.inputs
    egress = one(inventory, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert egress.inputs["securityGroupId"] == clients.state["id"]
    assert egress.inputs["referencedSecurityGroupId"] == database.state["id"]
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (port, port)
    (policy,) = _kind(inventory, "SecurityGroupPolicy")
    assert clients.state["id"] in policy.inputs["spec"]["securityGroups"]["groupIds"]
    selector = policy.inputs["spec"]["podSelector"]["matchLabels"]
    for deployment in _kind(inventory, "Deployment"):
        assert selector.items() <= deployment.inputs["spec"]["template"]["metadata"]["labels"].items()


def test_images_by_digest_where_the_cell_file_gives_one(sample_fleet: Fleet) -> None:
    hipaa = sample_fleet.cell("enterprise-us-hipaa")
    smb = sample_fleet.cell("smb-us-1")
    for cell in (hipaa, smb):
        for manifest in workload_manifests(cell):
            if manifest["kind"] != "Deployment":
                continue
            containers = {c["name"]: c for c in manifest["spec"]["template"]["spec"]["containers"]}
            assert "@sha256:" in containers.pop("flagd")["image"]  # the sidecar is always pinned
            (container,) = containers.values()
            digest = container["image"].partition("@")[2]
            annotations = manifest["metadata"].get("annotations", {})
            if cell is hipaa:
                assert digest.startswith("sha256:") and len(digest) == 71
                assert annotations == {}
            else:
                assert digest == ""
                assert annotations["checkov.io/skip1"].startswith("CKV_K8S_43=")
    # A rollout to a new release must not keep the old release's digest.
    assert all(s.image_digest is None for s in hipaa.with_release("2.5.0").services.values())


def test_pods_get_no_service_account_token(case: tuple[Cell, Inventory]) -> None:
    _, inventory = case
    deployments = _kind(inventory, "Deployment")
    assert deployments
    assert all(d.inputs["spec"]["template"]["spec"]["automountServiceAccountToken"] is False for d in deployments)


def test_logs_and_paging_are_encrypted_and_retained(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    key = one(inventory, "aws:kms/key:Key", f"{cell.id}-observability")
    assert key.inputs["enableKeyRotation"] is True
    groups = inventory.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert {g.inputs.get("name") for g in groups} >= {f"/aws/eks/{cell.id}/cluster", f"/cellfleet/{cell.id}/services"}
    for group in groups:
        assert group.inputs["kmsKeyId"] == key.state["arn"], group.name
        assert group.inputs["retentionInDays"] >= 14, group.name
    assert one(inventory, "aws:sns/topic:Topic").inputs["kmsMasterKeyId"] == key.state["arn"]
    cluster = one(inventory, "aws:eks/cluster:Cluster")
    eks_logs = one(inventory, "aws:cloudwatch/logGroup:LogGroup", f"{cell.id}-eks-logs")
    assert eks_logs.urn in cluster.depends_on


def test_observability_key_policy_lists_actions_and_scopes_services() -> None:
    policy = json.loads(observability_key_policy("123456789012", "eu-west-1"))
    for statement in policy["Statement"]:
        assert all("*" not in action for action in statement["Action"])
        if "Service" in statement["Principal"]:
            assert statement["Condition"]
    logs = next(s for s in policy["Statement"] if s["Principal"].get("Service") == "logs.eu-west-1.amazonaws.com")
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].startswith(
        "arn:aws:logs:eu-west-1:123456789012:log-group:"
    )


def test_default_security_group_has_no_rules(case: tuple[Cell, Inventory]) -> None:
    _, inventory = case
    default = one(inventory, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs["vpcId"] == one(inventory, "aws:ec2/vpc:Vpc").state["id"]
    assert default.inputs.get("ingress", []) == [] and default.inputs.get("egress", []) == []


def test_rds_foundational_controls(case: tuple[Cell, Inventory]) -> None:
    cell, inventory = case
    db = one(inventory, "aws:rds/cluster:Cluster").inputs
    assert db["storageEncrypted"] is True  # RDS.27
    assert db["deletionProtection"] is True  # RDS.7
    assert db["backupRetentionPeriod"] >= 1  # RDS.11 (clusters)
    assert db["iamDatabaseAuthenticationEnabled"] is True  # RDS.12
    assert db["copyTagsToSnapshot"] is True  # RDS.16
    assert db["masterUsername"] != "postgres" and db["masterUsername"] != "admin"  # RDS.24
    exports = set(db["enabledCloudwatchLogsExports"])
    if cell.database.engine is Engine.AURORA_MYSQL:
        assert {"audit", "error", "slowquery"} <= exports  # RDS.34
        assert db["backtrackWindow"] > 0  # RDS.14
        audit = one(inventory, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
        assert db["dbClusterParameterGroupName"] == audit.state["name"]
        assert {p["name"]: p["value"] for p in audit.inputs["parameters"]}["server_audit_logging"] == "1"  # RDS.45
    else:
        assert exports == {"postgresql"}
        assert "backtrackWindow" not in db
    for instance in inventory.of_type("aws:rds/clusterInstance:ClusterInstance"):
        assert instance.inputs["publiclyAccessible"] is False  # RDS.2
        assert instance.inputs["autoMinorVersionUpgrade"] is True  # RDS.13
        assert instance.inputs["monitoringInterval"] == 60  # RDS.6
        role = one(inventory, "aws:iam/role:Role", f"{cell.id}-db-monitoring")
        assert instance.inputs["monitoringRoleArn"] == role.state["arn"]
