"""The Cell component: one full, independent copy of the product in one AWS account and region."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from modules.cell.args import CellArgs
from modules.cell.compute import build_compute
from modules.cell.data import build_data
from modules.cell.gitops_bootstrap import bootstrap_gitops
from modules.cell.keys import build_observability_key
from modules.cell.network import build_network
from modules.cell.observability import build_observability
from modules.cell.registration import build_registration
from modules.cell.workloads import database_security_group_policy, kubeconfig, register_workloads

TYPE_TOKEN = "cellfleet:index:Cell"  # noqa: S105 - a Pulumi type token


class Cell(pulumi.ComponentResource):
    """A cell: network, EKS, Aurora, product workloads, alarms, and its registry item."""

    vpc_id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    database_endpoint: pulumi.Output[str]
    database_reader_endpoint: pulumi.Output[str]
    paging_topic_arn: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: CellArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        provider = aws.Provider(
            f"{name}-aws",
            region=args.region,
            allowed_account_ids=[args.account],
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.default_tags)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        log_key = build_observability_key(name, args.cell_id, args.account, args.region, child)
        network = build_network(name, args.network, log_key.arn, child)
        compute = build_compute(name, args.compute, network.private_subnet_ids, log_key.arn, child)
        data = build_data(name, args.data, network.vpc.id, network.private_subnet_ids, child)
        cluster = compute.cluster
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda parts: kubeconfig(parts[0], parts[1], parts[2] or "", args.region)
            )
        )
        pod_groups = database_security_group_policy([compute.security_group_id, data.clients.id])
        if args.gitops is None:
            register_workloads(
                name,
                [*args.workloads, pod_groups],
                self.kubeconfig,
                self,
                depends_on=[compute.node_group, compute.network_addon],
            )
        else:  # Argo CD applies the workloads; the pod security-group policy needs Pulumi's ids, so it stays here
            register_workloads(name, [pod_groups], self.kubeconfig, self, depends_on=[compute.node_group, compute.network_addon])
            bootstrap_gitops(name, args.gitops, args.workloads, cluster, self.kubeconfig, child, [compute.node_group])
        observability = build_observability(name, args.cell_id, args.observability, log_key.arn, child)
        build_registration(
            name,
            args,
            {
                "kubernetes_api": cluster.endpoint,
                "database": data.cluster.endpoint,
                "database_reader": data.cluster.reader_endpoint,
            },
            self,
        )

        self.vpc_id = network.vpc.id
        self.cluster_name = cluster.name
        self.cluster_endpoint = cluster.endpoint
        self.database_endpoint = data.cluster.endpoint
        self.database_reader_endpoint = data.cluster.reader_endpoint
        self.paging_topic_arn = observability.paging_topic.arn
        self.alarm_names = pulumi.Output.all(
            *(alarm.name for alarm in observability.alarms), observability.health.alarm_name
        )
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "cluster_name": self.cluster_name,
                "cluster_endpoint": self.cluster_endpoint,
                "kubeconfig": self.kubeconfig,
                "database_endpoint": self.database_endpoint,
                "database_reader_endpoint": self.database_reader_endpoint,
                "paging_topic_arn": self.paging_topic_arn,
                "alarm_names": self.alarm_names,
            }
        )
