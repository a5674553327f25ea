"""Data: the cell's Aurora cluster, private, encrypted, with an AWS-managed master password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from modules.cell.args import DataArgs

MASTER_USERNAME = "cellfleet_admin"
DATABASE_NAME = "product"


@dataclass(frozen=True)
class Data:
    cluster: aws.rds.Cluster
    instances: list[aws.rds.ClusterInstance]
    key: aws.kms.Key | None


def build_data(
    name: str,
    args: DataArgs,
    vpc_id: pulumi.Input[str],
    subnet_ids: Sequence[pulumi.Input[str]],
    client_security_group_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> Data:
    """Aurora cluster and instances in the private subnets; only the EKS nodes may connect."""
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
    firewall = aws.ec2.SecurityGroup(
        f"{name}-db",
        vpc_id=vpc_id,
        description="Aurora: the cell's EKS workloads only",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=args.port, to_port=args.port, security_groups=[client_security_group_id]
            )
        ],
        opts=opts,
    )
    data_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=args.protect))
    cluster = aws.rds.Cluster(
        f"{name}-db",
        cluster_identifier=args.cluster_identifier,
        engine=args.engine,
        engine_version=args.engine_version,
        port=args.port,
        database_name=DATABASE_NAME,
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
        skip_final_snapshot=not args.final_snapshot,
        final_snapshot_identifier=pulumi.Output.concat(args.cluster_identifier, "-final") if args.final_snapshot else None,
        copy_tags_to_snapshot=True,
        enabled_cloudwatch_logs_exports=list(args.log_exports),
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
            preferred_maintenance_window=args.maintenance_window,
            opts=data_opts,
        )
        for index in range(args.instances)
    ]
    return Data(cluster=cluster, instances=instances, key=key)
