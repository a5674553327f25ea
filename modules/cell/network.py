"""Network: VPC with a public and a private subnet per AZ, NAT, routes and flow logs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from model.iam import assume_role_policy
from modules.cell.args import NetworkArgs


@dataclass(frozen=True)
class Network:
    vpc: aws.ec2.Vpc
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]


def _default_security_group(name: str, vpc: aws.ec2.Vpc, opts: pulumi.ResourceOptions) -> None:
    """The VPC's default group, managed with no rules: nothing that lands in it can talk (FSBP EC2.2)."""
    aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=opts)


def _flow_logs(
    name: str, vpc: aws.ec2.Vpc, args: NetworkArgs, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> None:
    group = aws.cloudwatch.LogGroup(
        f"{name}-flow-logs", retention_in_days=args.flow_log_retention_days, kms_key_id=key_arn, opts=opts
    )
    role = aws.iam.Role(
        f"{name}-flow-logs", assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"), opts=opts
    )
    policy = pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "Resource": [group.arn, pulumi.Output.concat(group.arn, ":log-stream:*")],
                }
            ],
        },
        sort_keys=True,
    )
    aws.iam.RolePolicy(f"{name}-flow-logs", role=role.id, policy=policy, opts=opts)
    aws.ec2.FlowLog(
        f"{name}-flow-logs",
        vpc_id=vpc.id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=group.arn,
        iam_role_arn=role.arn,
        opts=opts,
    )


def build_network(
    name: str, args: NetworkArgs, log_key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> Network:
    """VPC, one public and one private subnet per AZ, NAT per AZ (or one), route tables, flow logs."""
    zones = aws.get_availability_zones_output(
        region=args.region, state="available", opts=pulumi.InvokeOutputOptions(parent=opts.parent, provider=opts.provider)
    )
    vpc = aws.ec2.Vpc(
        f"{name}-vpc", cidr_block=args.cidr_block, enable_dns_hostnames=True, enable_dns_support=True, opts=opts
    )
    gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=opts)
    public_routes = aws.ec2.RouteTable(
        f"{name}-public",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
        opts=opts,
    )
    public: list[aws.ec2.Subnet] = []
    private: list[aws.ec2.Subnet] = []
    for index, (private_cidr, public_cidr) in enumerate(zip(args.private_subnet_cidrs, args.public_subnet_cidrs, strict=True)):
        zone = zones.names.apply(lambda names, i=index: names[i])  # type: ignore[misc]
        public.append(
            aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=zone,
                tags={"kubernetes.io/role/elb": "1"},
                opts=opts,
            )
        )
        private.append(
            aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=private_cidr,
                availability_zone=zone,
                tags={"kubernetes.io/role/internal-elb": "1"},
                opts=opts,
            )
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-{index}", subnet_id=public[-1].id, route_table_id=public_routes.id, opts=opts
        )

    nat_count = len(public) if args.nat_per_az else 1
    private_tables = []
    for index in range(nat_count):
        eip = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", opts=opts)
        nat = aws.ec2.NatGateway(
            f"{name}-nat-{index}",
            allocation_id=eip.id,
            subnet_id=public[index].id,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[gateway])),
        )
        private_tables.append(
            aws.ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                opts=opts,
            )
        )
    for index, subnet in enumerate(private):
        aws.ec2.RouteTableAssociation(
            f"{name}-private-{index}",
            subnet_id=subnet.id,
            route_table_id=private_tables[index % nat_count].id,
            opts=opts,
        )
    _default_security_group(name, vpc, opts)
    _flow_logs(name, vpc, args, log_key_arn, opts)
    return Network(vpc=vpc, private_subnet_ids=[s.id for s in private], public_subnet_ids=[s.id for s in public])
