"""Addressing of a cell's VPC: which CIDR each subnet gets (shared by the network and its policies)."""

from __future__ import annotations

from ipaddress import IPv4Network


def subnet_cidrs(vpc: IPv4Network, zones: int) -> tuple[list[str], list[str]]:
    """Private and public subnet CIDRs, one of each per AZ: the VPC cut in 16, privates first half."""
    pieces = list(vpc.subnets(prefixlen_diff=4))
    private = [str(pieces[i]) for i in range(zones)]
    public = [str(pieces[8 + i]) for i in range(zones)]
    return private, public
