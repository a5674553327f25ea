"""The migration's cells by reference: one S3 object per step, and the small execution input naming them.

`migrations.orchestrator.plan_document` lays the cells out per phase, per step, in batches. The
cells never travel in the execution input: `fleet migrate start` writes one object per step under
`plans/migrations/<migration id>/<digest>/` in the control plane's plan bucket (the rollout
plans' bucket, `pipelines.targets.Targets.plan_bucket`: private, versioned, KMS-encrypted), and
the input carries, per phase and step, the object's key and the version id S3 answered, its
wait and its number of batches. The input's size grows with the steps (the manifest), never with
the cells. A step's object is a JSON array with one item per batch, the shape a Distributed
Map's `ItemReader` (InputType JSON) iterates; the machine reads the pinned version, from the
bucket compiled into its definition, never one named by the input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from model.jsonio import compact
from pipelines.asl import JSON
from pipelines.planref import s3_sha256
from pipelines.targets import PLANS_PREFIX

PREFIX = f"{PLANS_PREFIX}migrations/"  # the migrations' own key prefix in the plan bucket


def prefix(migration_id: str) -> str:
    """Where a migration's step objects live (the machine refuses a key outside it)."""
    return f"{PREFIX}{migration_id}/"


@dataclass(frozen=True)
class StepObject:
    """One step's object: where it goes, its bytes, and what the input says of it."""

    phase: int
    step: int
    key: str
    body: bytes
    batches: int
    wait: int

    @property
    def sha256(self) -> str:
        return s3_sha256(self.body)


def digest(document: JSON) -> str:
    """SHA-256 (hex) of the whole plan document, compact JSON."""
    return hashlib.sha256(compact(document).encode()).hexdigest()


def step_objects(document: JSON) -> list[StepObject]:
    """The objects `fleet migrate start` writes for a plan document (`orchestrator.plan_document`)."""
    where = f"{prefix(document['migration_id'])}{digest(document)}/"
    return [StepObject(i, k, f"{where}p{i}-s{k}.json", compact(step["batches"]).encode(), len(step["batches"]),
                       step["wait"])
            for i, phase in enumerate(document["plan"]) for k, step in enumerate(phase)]


def execution_input(document: JSON, objects: Sequence[StepObject], versions: Sequence[str]) -> JSON:
    """The `run` execution's input: the settings and, per phase and step, its object at a pinned version."""
    steps: list[list[JSON]] = [[] for _ in document["plan"]]
    for obj, version in zip(objects, versions, strict=True):
        steps[obj.phase].append({"key": obj.key, "version_id": version, "wait": obj.wait, "batches": obj.batches})
    return {"migration_id": document["migration_id"], "settings": document["settings"],
            "plan": {"digest": digest(document), "steps": steps}}

