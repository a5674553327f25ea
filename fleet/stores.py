"""Where migration state lives: a local JSON file (default) or the control plane's DynamoDB table.

Both stores keep the same data and refuse a save based on a stale read (optimistic locking on
`version`). The DynamoDB layout is one item per (migration, key), so the orchestrator's state
machine can update a single cell's phase with `dynamodb:updateItem`:

* `key = "meta"`: `version`
* `key = "cell#<cell>#<phase>"`: `cell_id`, `phase`, `status`, `rows_done`, `rows_total`,
  `started_at`, `ended_at`, `error`
* `key = "approval#<phase>#<anything>"`: `phase`, `cells` (list of cell ids)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from migrations.state import CellPhase, MigrationState
from model.contract import DEFAULT_MIGRATIONS_TABLE, MIGRATION_KEY, MIGRATION_RANGE_KEY
from model.registry import from_item, to_item

STATE_DIR = Path(".fleet-state") / "migrations"


class StaleStateError(Exception):
    """Someone else saved the migration since it was loaded."""


class StateStore(Protocol):
    def load(self, migration_id: str) -> MigrationState: ...

    def save(self, state: MigrationState) -> MigrationState: ...


class JsonStore:
    """`<root>/.fleet-state/migrations/<id>.json`, replaced atomically on every save."""

    def __init__(self, root: Path) -> None:
        self.folder = root / STATE_DIR

    def path(self, migration_id: str) -> Path:
        return self.folder / f"{migration_id}.json"

    def load(self, migration_id: str) -> MigrationState:
        path = self.path(migration_id)
        if not path.exists():
            return MigrationState(migration_id)
        return MigrationState.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def save(self, state: MigrationState) -> MigrationState:
        if self.load(state.migration_id).version != state.version:
            raise StaleStateError(f"{self.path(state.migration_id)} changed since it was read")
        saved = MigrationState(state.migration_id, state.cells, state.approvals, state.version + 1)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{state.migration_id}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(saved.to_dict(), sort_keys=True, indent=2) + "\n")
        os.replace(tmp, self.path(state.migration_id))
        return saved


def _cell_key(cell: str, phase: str) -> str:
    return f"cell#{cell}#{phase}"


class DynamoStore:
    """The control plane's migrations table (`DEFAULT_MIGRATIONS_TABLE`; hash `migration_id`, range `key`)."""

    def __init__(self, table: str = DEFAULT_MIGRATIONS_TABLE, client: Any = None, region: str | None = None) -> None:
        import boto3

        self.table = table
        self.client = client or boto3.client("dynamodb", region_name=region)

    def _items(self, migration_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "migration_id = :m",
            "ExpressionAttributeValues": {":m": {"S": migration_id}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def load(self, migration_id: str) -> MigrationState:
        cells: dict[str, dict[str, CellPhase]] = {}
        approvals: set[tuple[str, str]] = set()
        version = 0
        for item in self._items(migration_id):
            plain = from_item(item)
            key = str(plain["key"])
            if key == "meta":
                version = int(plain.get("version", 0))
            elif key.startswith("cell#"):
                cells.setdefault(str(plain["cell_id"]), {})[str(plain["phase"])] = CellPhase.from_dict(plain)
            elif key.startswith("approval#"):
                approvals.update((str(plain["phase"]), str(c)) for c in plain.get("cells", []))
        return MigrationState(migration_id, cells, frozenset(approvals), version)

    def save(self, state: MigrationState) -> MigrationState:
        import botocore.exceptions

        before = self.load(state.migration_id)
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"migration_id": {"S": state.migration_id}, "key": {"S": "meta"},
                      "version": {"N": str(state.version + 1)}},
                ConditionExpression="attribute_not_exists(version) OR version = :v",
                ExpressionAttributeValues={":v": {"N": str(state.version)}},
            )
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise StaleStateError(f"migration {state.migration_id} changed since it was read") from None
            raise
        for cell, phases in state.cells.items():
            for phase, value in phases.items():
                if before.get(cell, phase) == value:
                    continue
                item = {"migration_id": state.migration_id, "key": _cell_key(cell, phase), "cell_id": cell,
                        "phase": phase, **value.to_dict()}
                self.client.put_item(TableName=self.table, Item=to_item(item))
        for phase, cell in sorted(state.approvals - before.approvals):
            item = {"migration_id": state.migration_id, "key": f"approval#{phase}#{cell}", "phase": phase,
                    "cells": [cell]}
            self.client.put_item(TableName=self.table, Item=to_item(item))
        return MigrationState(state.migration_id, state.cells, state.approvals, state.version + 1)


def table_definition(name: str = DEFAULT_MIGRATIONS_TABLE) -> dict[str, Any]:
    """CreateTable arguments (the control-plane stack creates the same table)."""
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": MIGRATION_KEY, "KeyType": "HASH"},
                      {"AttributeName": MIGRATION_RANGE_KEY, "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": MIGRATION_KEY, "AttributeType": "S"},
                                 {"AttributeName": MIGRATION_RANGE_KEY, "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
