"""Data: the cell's Aurora cluster, private, encrypted, with an AWS-managed master password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from model.cells import Engine
from model.contract import CELL_DATABASE, final_snapshot
from model.iam import assume_role_policy
from modules.cell.args import DataArgs

MASTER_USERNAME = "cellfleet_admin"
MONITORING_SECONDS = 60  # enhanced monitoring (FSBP RDS.6)
MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
BACKTRACK_SECONDS = 24 * 3600  # Aurora MySQL backtracking (FSBP RDS.14)
MYSQL_FAMILY = "aurora-mysql8.0"
# Aurora MySQL writes audit events only when asked (FSBP RDS.34/RDS.45); exported with the logs.
MYSQL_AUDIT = {"server_audit_logging": "1", "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL"}


def final_snapshot_name(cluster_identifier: pulumi.Input[str]) -> pulumi.Output[str]:
    """The snapshot RDS takes when the cluster is deleted: `<cluster>-final` (`model.contract.final_snapshot`)."""
    return pulumi.Output.from_input(cluster_identifier).apply(final_snapshot)


@dataclass(frozen=True)
class Data:
    cluster: aws.rds.Cluster
    instances: list[aws.rds.ClusterInstance]
    key: aws.kms.Key | None
    clients: aws.ec2.SecurityGroup


def _clients(name: str, vpc_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """The group the database clients' pods get (EKS security groups for pods); no rules of its own."""
    return aws.ec2.SecurityGroup(
        f"{name}-db-clients", vpc_id=vpc_id, description="Pods of the cell that use its database", opts=opts
    )


def _client_egress(
    name: str, clients: aws.ec2.SecurityGroup, firewall: aws.ec2.SecurityGroup, port: int, opts: pulumi.ResourceOptions
) -> aws.vpc.SecurityGroupEgressRule:
    """The clients' one egress: the database port of the database's group (a rule, to avoid a cycle)."""
    return aws.vpc.SecurityGroupEgressRule(
        f"{name}-db-clients-egress",
        security_group_id=clients.id,
        referenced_security_group_id=firewall.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description="The cell database",
        opts=opts,
    )


def _audit_parameters(name: str, args: DataArgs, opts: pulumi.ResourceOptions) -> aws.rds.ClusterParameterGroup | None:
    if args.engine != Engine.AURORA_MYSQL.value:
        return None
    return aws.rds.ClusterParameterGroup(
        f"{name}-db-audit",
        family=MYSQL_FAMILY,
        description="Aurora MySQL audit logging",
        parameters=[aws.rds.ClusterParameterGroupParameterArgs(name=k, value=v) for k, v in sorted(MYSQL_AUDIT.items())],
        opts=opts,
    )


def _monitoring_role(name: str, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    role = aws.iam.Role(
        f"{name}-db-monitoring", assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com"), opts=opts
    )
    aws.iam.RolePolicyAttachment(f"{name}-db-monitoring", role=role.name, policy_arn=MONITORING_POLICY, opts=opts)
    return role


def build_data(
    name: str,
    args: DataArgs,
    vpc_id: pulumi.Input[str],
    subnet_ids: Sequence[pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> Data:
    """Aurora cluster and instances in the private subnets; only the database clients' pods may connect."""
    key = None
    if args.customer_managed_key:
        key = aws.kms.Key(
            f"{name}-db-key",
            description=pulumi.Output.concat("Aurora storage and master secret of ", args.cluster_identifier),
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=opts,
        )
    subnets = aws.rds.SubnetGroup(f"{name}-db", subnet_ids=list(subnet_ids), opts=opts)
    clients = _clients(name, vpc_id, opts)
    firewall = aws.ec2.SecurityGroup(
        f"{name}-db",
        vpc_id=vpc_id,
        description="Aurora: the cell's database clients only",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=args.port, to_port=args.port, security_groups=[clients.id]
            )
        ],
        opts=opts,
    )
    _client_egress(name, clients, firewall, args.port, opts)
    monitoring = _monitoring_role(name, opts)
    audit = _audit_parameters(name, args, opts)
    data_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=args.protect))
    # A protected database is never destroyed without a final snapshot (the decommission path relies on it).
    final_snapshot = args.final_snapshot or args.protect
    cluster = aws.rds.Cluster(
        f"{name}-db",
        cluster_identifier=args.cluster_identifier,
        engine=args.engine,
        engine_version=args.engine_version,
        port=args.port,
        database_name=CELL_DATABASE,
        master_username=MASTER_USERNAME,
        manage_master_user_password=True,
        master_user_secret_kms_key_id=key.arn if key is not None else None,
        storage_encrypted=True,
        kms_key_id=key.arn if key is not None else None,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[firewall.id],
        iam_database_authentication_enabled=True,
        backup_retention_period=args.backup_retention_days,
        preferred_maintenance_window=args.maintenance_window,
        deletion_protection=True,
        skip_final_snapshot=not final_snapshot,
        final_snapshot_identifier=final_snapshot_name(args.cluster_identifier) if final_snapshot else None,
        copy_tags_to_snapshot=True,
        enabled_cloudwatch_logs_exports=list(args.log_exports),
        backtrack_window=BACKTRACK_SECONDS if args.engine == Engine.AURORA_MYSQL.value else None,
        db_cluster_parameter_group_name=audit.name if audit is not None else None,
        opts=data_opts,
    )
    instances = [
        aws.rds.ClusterInstance(
            f"{name}-db-{index}",
            cluster_identifier=cluster.id,
            engine=aws.rds.EngineType(args.engine),
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            db_subnet_group_name=subnets.name,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            monitoring_interval=MONITORING_SECONDS,
            monitoring_role_arn=monitoring.arn,
            preferred_maintenance_window=args.maintenance_window,
            opts=data_opts,
        )
        for index in range(args.instances)
    ]
    return Data(cluster=cluster, instances=instances, key=key, clients=clients)
