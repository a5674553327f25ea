"""A program's inventory as a document: deterministic JSON and a short table view.

Resources are sorted by (type, name); parents and providers are shown by name; numbers that
Pulumi carried as floats but are whole print as integers. Same program, same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from model.jsonio import dumps

if TYPE_CHECKING:  # not at run time: reading cached documents (`fleet build`) needs no Pulumi SDK
    from fleet.mocking import Inventory

# Properties worth a glance in the table view, per resource type (the JSON has all inputs).
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region", "defaultTags"),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone"),
    "aws:eks/cluster:Cluster": ("name", "version", "vpcConfig.endpointPublicAccess"),
    "aws:eks/nodeGroup:NodeGroup": ("instanceTypes", "scalingConfig"),
    "aws:rds/cluster:Cluster": ("clusterIdentifier", "engine", "storageEncrypted", "kmsKeyId", "backupRetentionPeriod"),
    "aws:rds/clusterInstance:ClusterInstance": ("instanceClass", "publiclyAccessible"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", "threshold"),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("alarmName", "alarmRule"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:sns/topic:Topic": ("name",),
    "aws:dynamodb/tableItem:TableItem": ("tableName",),
    "kubernetes:apps/v1:Deployment": ("metadata.name", "spec.replicas"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ("spec.minReplicas", "spec.maxReplicas"),
}


def inventory_path(cell_id: str) -> str:
    """Where a cell's inventory goes under build/."""
    return f"cells/{cell_id}.json"


def _name_of(reference: str) -> str:
    """`urn:pulumi:s::p::type::name` (or a provider reference `urn::id`) -> `name`."""
    if not reference:
        return ""
    parts = reference.split("::")
    return parts[3] if len(parts) > 3 else parts[-1]


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def resource_entry(resource: Mapping[str, Any]) -> dict[str, Any]:
    """One resource of the document, from its recorded fields (type, name, parent, provider, protect, inputs)."""
    return {
        "type": resource["type"],
        "name": resource["name"],
        "parent": _name_of(resource["parent"]),
        "provider": _name_of(resource["provider"]),
        "protect": resource["protect"],
        "properties": _whole(resource["inputs"]),
    }


def cached_document(stack: str, cached: Mapping[str, Any]) -> dict[str, Any]:
    """The document of an inventory in the cache's JSON form (`fleet/diff_worker.py` `to_json`).

    The one conversion from that form: `inventory_document` goes through it too, so a cell's
    document is the same bytes whether its program ran in this process or in a worker.
    """
    resources = sorted((resource_entry(r) for r in cached["resources"]), key=lambda e: (e["type"], e["name"]))
    return {
        "stack": stack,
        "resource_count": len(resources),
        "resources": resources,
        "outputs": _whole(cached["outputs"]),
    }


def inventory_document(inventory: Inventory) -> dict[str, Any]:
    """The inventory as plain data: stack, resource count, resources by (type, name), outputs."""
    recorded = [{"type": r.type, "name": r.name, "parent": r.parent, "provider": r.provider, "protect": r.protect,
                 "inputs": r.inputs} for r in inventory.resources]
    return cached_document(inventory.stack, {"resources": recorded, "outputs": inventory.outputs})


def to_json(document: Any) -> str:
    """The one serialisation of generated documents: sorted keys, 2-space indent, final newline."""
    return dumps(document)


def _lookup(properties: dict[str, Any], dotted: str) -> Any:
    value: Any = properties
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def key_properties(entry: dict[str, Any]) -> str:
    """`k=v` pairs of the type's key properties present in `entry` (compact JSON for structures)."""
    shown = []
    for key in KEY_PROPERTIES.get(entry["type"], ()):
        value = _lookup(entry["properties"], key)
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
        shown.append(f"{key}={text}")
    return " ".join(shown)
