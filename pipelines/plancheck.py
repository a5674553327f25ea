"""The digest of a wave's cells the rollout machine checks the stored plan against.

The rollout definition cannot list every cell (it would grow with the fleet), and the rollout's
state cannot hold them either (100,000 ids are megabytes), so the digest is computed where the
cells are: a wave's plan object holds one item per *chunk* of `CHUNK_CELLS` cells in deploy order
(`pipelines.planref`), and each item of the rollout's Distributed Map hashes its own chunk: the
chunk's cells cut into parts of `DIGEST_CHUNK` (`States.ArrayPartition`), each part hashed
(`States.Hash(States.JsonToString(part))`, whose input stays under the intrinsic's 10,000
characters), then the list of `{"d": hash}` objects hashed again. The rollout keeps only the
chunks' digests (64 characters each), cuts them into parts of `DIGESTS_PER_PART`, hashes each
part and hashes the list of `{"d": hash}` once more. Chunks are fixed-size, so the digest depends
on the cells and their order only, never on how they are cut into batches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

CHUNK_CELLS = 250  # cells per plan-object item; a batch never spans two chunks (`pipelines.inputs`)
DIGEST_CHUNK = 150  # cells per hashed part: 150 ids of at most 48 characters (quoted, comma) stay under 10,000
DIGESTS_PER_PART = 140  # chunk digests per hashed part: 140 x 67 characters (64 hex, quotes, comma) < 10,000


def _compact(value: object) -> str:
    """What `States.JsonToString` yields: JSON without spaces."""
    return json.dumps(value, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _parts(items: Sequence[str], size: int) -> list[dict[str, str]]:
    return [{"d": _sha256(_compact(list(items[i:i + size])))} for i in range(0, len(items), size)]


def chunk_digest(cells: Sequence[str]) -> str:
    """The digest one item of the rollout's load Map computes for its chunk of cells."""
    return _sha256(_compact(_parts(cells, DIGEST_CHUNK)))


def cells_digest(cells: Sequence[str]) -> str:
    """The digest of a wave's cells in deploy order."""
    chunks = [chunk_digest(cells[i:i + CHUNK_CELLS]) for i in range(0, len(cells), CHUNK_CELLS)]
    return _sha256(_compact(_parts(chunks, DIGESTS_PER_PART)))
