"""Migration state: per cell and phase, status, rows done and total, start and end; approvals.

Plain data with a JSON form; `transitions` decides which changes are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class CellPhase:
    status: Status = Status.PENDING
    rows_done: int | None = None
    rows_total: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value}
        for key in ("rows_done", "rows_total", "started_at", "ended_at", "error"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellPhase:
        def num(key: str) -> int | None:
            return int(data[key]) if data.get(key) is not None else None

        return cls(Status(data.get("status", "pending")), num("rows_done"), num("rows_total"),
                   data.get("started_at"), data.get("ended_at"), data.get("error"))


@dataclass(frozen=True)
class MigrationState:
    """What is known of one migration; `version` counts saves (optimistic concurrency)."""

    migration_id: str
    cells: dict[str, dict[str, CellPhase]] = field(default_factory=dict)
    approvals: frozenset[tuple[str, str]] = frozenset()  # (phase, cell)
    version: int = 0

    def get(self, cell: str, phase: str) -> CellPhase:
        return self.cells.get(cell, {}).get(phase, CellPhase())

    def put(self, cell: str, phase: str, value: CellPhase) -> MigrationState:
        cells = {c: dict(p) for c, p in self.cells.items()}
        cells.setdefault(cell, {})[phase] = value
        return replace(self, cells=cells)

    def approve(self, phase: str, cell: str) -> MigrationState:
        return replace(self, approvals=self.approvals | {(phase, cell)})

    def to_dict(self) -> dict[str, Any]:
        return {
            "migration_id": self.migration_id,
            "version": self.version,
            "cells": {c: {p: v.to_dict() for p, v in sorted(ph.items())} for c, ph in sorted(self.cells.items())},
            "approvals": [{"phase": p, "cell": c} for p, c in sorted(self.approvals)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MigrationState:
        return cls(
            migration_id=str(data["migration_id"]),
            cells={c: {p: CellPhase.from_dict(v) for p, v in ph.items()} for c, ph in data.get("cells", {}).items()},
            approvals=frozenset((a["phase"], a["cell"]) for a in data.get("approvals", [])),
            version=int(data.get("version", 0)),
        )
