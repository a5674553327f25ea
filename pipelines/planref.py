"""The rollout plan by reference: one S3 object per wave, and the small execution input naming them.

`rollout_input` builds the plan (per wave, its batches and the cells' window openings). Instead
of travelling in the execution input (256 KiB at most, 246 KiB at 10,000 cells), the plan is
written as one object per wave under `plans/<digest>/` in the control plane's plan bucket, and
the input carries only the reference: bucket, key prefix, the plan's digest and, per wave, its
object's key, version id, ETag and SHA-256. The input's size grows with the number of waves,
never with the cells.

A wave's object is a JSON array with one item per chunk of the wave's cells
(`pipelines.plancheck.CHUNK_CELLS`, the last one shorter): `{"batches": [[...], ...], "openings": [...]}`
(the openings laid out like the chunk's batches, `[]` for a chunk without windowed cells), the
shape a Distributed Map's `ItemReader` (InputType JSON) iterates. The rollout machine reads the
version the reference pins, each item hashing its chunk (checked against the digest compiled into
its definition, `pipelines.plancheck`), and hands the wave execution only the key and version id:
the wave's Distributed Maps read the same version, one chunk per item. No execution's state ever
holds the wave's cells.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from model.jsonio import compact
from pipelines.plancheck import CHUNK_CELLS
from pipelines.targets import PLANS_PREFIX

JSON = dict[str, Any]


def s3_sha256(body: bytes) -> str:
    """Base64 SHA-256 of `body`, as S3 reports `ChecksumSHA256` for a single-part upload."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


@dataclass(frozen=True)
class WaveObject:
    """One wave's object: where it goes and its bytes."""

    name: str
    key: str
    body: bytes

    @property
    def sha256(self) -> str:
        return s3_sha256(self.body)


@dataclass(frozen=True)
class Stored:
    """What S3 answered for one stored wave object."""

    version_id: str
    etag: str


def plan_digest(document: JSON) -> str:
    """SHA-256 (hex) of the whole plan document, compact JSON: the reference's `digest`."""
    return hashlib.sha256(compact(document).encode()).hexdigest()


def chunk_batches(batches: Sequence[Sequence[str]]) -> list[list[int]]:
    """Batch indexes grouped into chunks: consecutive batches while they hold at most `CHUNK_CELLS` cells.

    `rollout_input` cuts batches inside chunks, so this gives back exactly the chunks of the cells.
    """
    groups: list[list[int]] = []
    filled = CHUNK_CELLS
    for j, batch in enumerate(batches):
        if filled + len(batch) > CHUNK_CELLS:
            groups.append([])
            filled = 0
        groups[-1].append(j)
        filled += len(batch)
    return groups


def wave_items(wave: JSON) -> list[JSON]:
    """A wave of the plan document as ItemReader items: one `{batches, openings}` per chunk."""
    batches, openings = wave["batches"], wave["openings"]
    items = []
    for group in chunk_batches(batches):
        mine = [openings[j] for j in group] if openings else []
        items.append({"batches": [batches[j] for j in group], "openings": mine if any(mine) else []})
    return items


def plan_objects(document: JSON) -> list[WaveObject]:
    """The objects `rollout start` writes for the plan document, keyed under its digest."""
    prefix = f"{PLANS_PREFIX}{plan_digest(document)}/"
    return [WaveObject(w["name"], f"{prefix}wave-{i}.json", compact(wave_items(w)).encode())
            for i, w in enumerate(document["waves"])]


def execution_input(document: JSON, bucket: str, objects: Sequence[WaveObject], stored: Sequence[Stored]) -> JSON:
    """The rollout execution's input: the version, the settings, and the reference to the stored plan."""
    waves = [{"name": o.name, "key": o.key, "version_id": s.version_id, "etag": s.etag, "sha256": o.sha256}
             for o, s in zip(objects, stored, strict=True)]
    digest = plan_digest(document)
    return {
        "version": document["version"],
        "settings": document["settings"],
        "plan": {"bucket": bucket, "key": f"{PLANS_PREFIX}{digest}/", "digest": digest, "waves": waves},
    }


def wave_from_items(name: str, items: Sequence[JSON]) -> JSON:
    """A wave object's items back as the plan document's wave (what the machine loads)."""
    batches = [batch for item in items for batch in item["batches"]]
    openings = [item["openings"][j] if item["openings"] else [] for item in items for j in range(len(item["batches"]))]
    return {"name": name, "batches": batches, "openings": openings if any(openings) else []}
