"""Compare two inventories of one stack: added, removed, changed (per property) and replaced resources.

Pure functions over the JSON form of `fleet.mocking.Inventory`, so the cache can store it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Properties that make the AWS provider (or Kubernetes) replace a resource instead of updating it,
# for the resource types the Cell module registers (from the providers' "forces new resource" docs).
FORCES_REPLACEMENT: dict[str, frozenset[str]] = {
    "pulumi:providers:aws": frozenset({"region"}),
    "aws:ec2/vpc:Vpc": frozenset({"cidrBlock", "instanceTenancy"}),
    "aws:ec2/subnet:Subnet": frozenset({"cidrBlock", "availabilityZone", "availabilityZoneId", "vpcId"}),
    "aws:ec2/natGateway:NatGateway": frozenset({"subnetId", "allocationId", "connectivityType"}),
    "aws:ec2/eip:Eip": frozenset({"domain"}),
    "aws:ec2/routeTable:RouteTable": frozenset({"vpcId"}),
    "aws:ec2/route:Route": frozenset({"routeTableId", "destinationCidrBlock"}),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": frozenset({"subnetId", "routeTableId"}),
    "aws:ec2/flowLog:FlowLog": frozenset({"vpcId", "logDestination", "logDestinationType", "trafficType", "iamRoleArn"}),
    "aws:ec2/securityGroup:SecurityGroup": frozenset({"name", "vpcId", "description"}),
    "aws:rds/cluster:Cluster": frozenset(
        {"engine", "clusterIdentifier", "databaseName", "storageEncrypted", "kmsKeyId", "masterUsername",
         "dbSubnetGroupName", "availabilityZones", "engineMode"}
    ),
    "aws:rds/clusterInstance:ClusterInstance": frozenset({"identifier", "engine", "clusterIdentifier"}),
    "aws:rds/subnetGroup:SubnetGroup": frozenset({"name"}),
    "aws:eks/cluster:Cluster": frozenset({"name", "encryptionConfig", "roleArn"}),
    "aws:eks/nodeGroup:NodeGroup": frozenset(
        {"clusterName", "nodeGroupName", "subnetIds", "amiType", "capacityType", "diskSize", "instanceTypes",
         "nodeRoleArn"}
    ),
    "aws:kms/key:Key": frozenset({"customerMasterKeySpec", "keyUsage", "multiRegion"}),
    "aws:cloudwatch/metricAlarm:MetricAlarm": frozenset({"name"}),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": frozenset({"alarmName"}),
    "aws:cloudwatch/logGroup:LogGroup": frozenset({"name", "namePrefix"}),
    "aws:sns/topic:Topic": frozenset({"name", "namePrefix", "fifoTopic"}),
    "aws:iam/role:Role": frozenset({"name", "namePrefix"}),
    "aws:dynamodb/tableItem:TableItem": frozenset({"tableName", "hashKey", "rangeKey"}),
}
# Any type: a new physical name means a new resource; Kubernetes objects are keyed by name and namespace.
GENERIC_REPLACING = frozenset({"name", "namePrefix", "metadata.name", "metadata.namespace", "spec.selector"})


@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any
    new: Any
    forces_replacement: bool


@dataclass(frozen=True)
class ResourceChange:
    """One resource that differs between base and head. `kind`: add, delete, update, replace."""

    key: str
    type: str
    name: str
    kind: str
    protected: bool
    properties: tuple[PropertyChange, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class StackDiff:
    stack: str
    changes: tuple[ResourceChange, ...] = field(default_factory=tuple)
    error: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.changes) or bool(self.error)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def protected_hits(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.protected)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested inputs as `{"a.b[0].c": leaf}`; empty containers are kept as leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _top(path: str) -> str:
    return path.split("[", 1)[0]


def _forces(type_: str, path: str, replace_on_changes: list[str]) -> bool:
    table = FORCES_REPLACEMENT.get(type_, frozenset())
    root = _top(path).split(".", 1)[0]
    if root in table or _top(path) in table or "*" in replace_on_changes:
        return True
    if any(path == p or path.startswith(f"{p}.") or path.startswith(f"{p}[") for p in replace_on_changes):
        return True
    return any(_top(path) == g or _top(path).startswith(f"{g}.") for g in GENERIC_REPLACING)


def resource_key(resource: dict[str, Any]) -> str:
    """A resource's identity across revisions: its URN without the stack and project."""
    urn = str(resource["urn"])
    return urn.split("::", 2)[-1]


def diff_resources(stack: str, base: dict[str, Any] | None, head: dict[str, Any] | None) -> StackDiff:
    """The changes from `base` to `head` (each an inventory as JSON, or None when absent/failed)."""
    if head is not None and head.get("error"):
        return StackDiff(stack, error=f"stack program fails at head: {head['error']}")
    old = {resource_key(r): r for r in (base or {}).get("resources", [])} if base and not base.get("error") else {}
    new = {resource_key(r): r for r in (head or {}).get("resources", [])}
    changes: list[ResourceChange] = []
    for key in sorted(old.keys() - new.keys()):
        r = old[key]
        renamed = _renamed_to(r, new, old)
        note = f"renamed to {renamed} without an alias: replaced" if renamed else ""
        changes.append(ResourceChange(key, r["type"], r["name"], "replace" if renamed else "delete",
                                      bool(r.get("protect")), note=note))
    for key in sorted(new.keys() - old.keys()):
        r = new[key]
        if _renamed_from(r, old, new):
            continue
        changes.append(ResourceChange(key, r["type"], r["name"], "add", bool(r.get("protect"))))
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        fa, fb = flatten(a.get("inputs", {})), flatten(b.get("inputs", {}))
        props = tuple(
            PropertyChange(p, fa.get(p), fb.get(p), _forces(b["type"], p, list(b.get("replace_on_changes", []))))
            for p in sorted(fa.keys() | fb.keys())
            if fa.get(p) != fb.get(p)
        )
        protect_changed = bool(a.get("protect")) != bool(b.get("protect"))
        if not props and not protect_changed:
            continue
        kind = "replace" if any(p.forces_replacement for p in props) else "update"
        note = f"protect {bool(a.get('protect'))} -> {bool(b.get('protect'))}" if protect_changed else ""
        changes.append(ResourceChange(key, b["type"], b["name"], kind, bool(a.get("protect")) or bool(b.get("protect")),
                                      props, note))
    return StackDiff(stack, tuple(changes))


def _same_body(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["type"] == b["type"] and a.get("parent_key") == b.get("parent_key"))


def _renamed_to(r: dict[str, Any], new: dict[str, Any], old: dict[str, Any]) -> str:
    """The added resource that takes `r`'s place (same type and parent, only one candidate)."""
    gone = [k for k, o in old.items() if k not in new and _same_body(o, r)]
    came = [k for k, n in new.items() if k not in old and _same_body(n, r)]
    return came[0] if len(came) == 1 and len(gone) == 1 else ""


def _renamed_from(r: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> bool:
    gone = [k for k, o in old.items() if k not in new and _same_body(o, r)]
    came = [k for k, n in new.items() if k not in old and _same_body(n, r)]
    return len(came) == 1 and len(gone) == 1


def diff_documents(base: dict[str, str], head: dict[str, str]) -> dict[str, str]:
    """Generated documents that differ: path -> `added`, `removed` or `changed`."""
    out: dict[str, str] = {}
    for path in sorted(base.keys() | head.keys()):
        if path not in head:
            out[path] = "removed"
        elif path not in base:
            out[path] = "added"
        elif base[path] != head[path]:
            out[path] = "changed"
    return out
