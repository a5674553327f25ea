"""Cell lifecycle: the Pulumi backend's documents (`pulumi stack ls --json`, `pulumi stack export`) parsed,
and what makes a cell's destroy unsafe (customers still routed to it, a protected database without a final snapshot).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from model.contract import CONTROL_PLANE_STACK, LANDING_ZONE_STACK
from model.errors import InputError, InputErrors

RESERVED_STACKS = (LANDING_ZONE_STACK, CONTROL_PLANE_STACK)
RDS_CLUSTER = "aws:rds/cluster:Cluster"


def _json(text: str, shown: str, field: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
        raise InputErrors([InputError(shown, line, field, f"not JSON: {exc}")]) from None


def stack_names(text: str, shown: str) -> tuple[str, ...]:
    """The stack names of a `pulumi stack ls --json` listing (`org/project/stack` names cut to the stack)."""
    data = _json(text, shown, "stacks")
    if not isinstance(data, list):
        raise InputErrors([InputError(shown, 1, "stacks", "expected the JSON list `pulumi stack ls --json` prints")])
    errors = [InputError(shown, 1, f"stacks[{i}].name", "expected an object with a string `name`")
              for i, item in enumerate(data) if not (isinstance(item, dict) and isinstance(item.get("name"), str))]
    if errors:
        raise InputErrors(errors)
    return tuple(sorted({str(item["name"]).rsplit("/", 1)[-1] for item in data}))


def orphans(stacks: Sequence[str], cell_ids: Collection[str]) -> tuple[str, ...]:
    """Stacks in the backend that are neither a reserved stack nor a cell with a file."""
    return tuple(s for s in stacks if s not in RESERVED_STACKS and s not in cell_ids)


@dataclass(frozen=True)
class Database:
    """An RDS cluster as the stack's state holds it: what `pulumi destroy` will do with it."""

    name: str
    identifier: str
    protected: bool  # Pulumi `protect` (enterprise tiers); RDS deletion protection, on for every cell, is lifted first
    skip_final_snapshot: bool
    final_snapshot: str | None


def _value(resource: Mapping[str, Any], key: str) -> Any:
    """A property from the state's outputs (what the provider deletes with), else its inputs."""
    for part in ("outputs", "inputs"):
        values = resource.get(part)
        if isinstance(values, dict) and key in values:
            return values[key]
    return None


def state_databases(text: str, shown: str) -> tuple[Database, ...]:
    """The RDS clusters of a `pulumi stack export` document."""
    data = _json(text, shown, "deployment")
    deployment = data.get("deployment") if isinstance(data, dict) else None
    resources = deployment.get("resources") if isinstance(deployment, dict) else None
    if not isinstance(resources, list):
        raise InputErrors([InputError(shown, 1, "deployment.resources", "expected `pulumi stack export` output")])
    found = []
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("type") != RDS_CLUSTER:
            continue
        snapshot = _value(resource, "finalSnapshotIdentifier")
        found.append(Database(
            name=str(resource.get("urn", "")).rsplit("::", 1)[-1],
            identifier=str(_value(resource, "clusterIdentifier") or ""),
            protected=resource.get("protect") is True,
            skip_final_snapshot=_value(resource, "skipFinalSnapshot") is not False,
            final_snapshot=snapshot if isinstance(snapshot, str) and snapshot else None,
        ))
    return tuple(found)


def snapshot_problems(databases: Sequence[Database], snapshots: Mapping[str, Collection[str]] | None = None) -> list[str]:
    """Protected databases the destroy would delete with no snapshot: none taken, none in `snapshots` (cluster -> ids)."""
    snapshots = snapshots or {}
    problems = []
    for db in databases:
        takes_one = not db.skip_final_snapshot and db.final_snapshot is not None
        if db.protected and not takes_one and not snapshots.get(db.identifier):
            problems.append(f"protected database {db.identifier or db.name} would be destroyed without a final "
                            "snapshot (skip_final_snapshot, no final_snapshot_identifier) and no snapshot of it exists")
    return problems


def router_problems(mapped: Mapping[str, Sequence[str]], table: str) -> dict[str, str]:
    """cell -> what the router table still sends it (`mapped`: cell -> customer accounts)."""
    return {cell: f"customers still mapped to this cell in the router table {table}: {', '.join(sorted(accounts))}; "
                  "move them to another cell first"
            for cell, accounts in sorted(mapped.items()) if accounts}
