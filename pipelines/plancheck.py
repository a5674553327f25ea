"""The digest of a wave's cells the rollout machine checks the execution input against.

The rollout definition cannot list every cell (it would grow with the fleet), so it carries
one SHA-256 per wave, computed the way the machine recomputes it from the input with
intrinsics: the flattened batches cut into parts of `DIGEST_CHUNK` (`States.ArrayPartition`),
each part hashed (`States.Hash(States.JsonToString(part))`, whose input stays under the
intrinsic's size limit), then the list of `{"d": hash}` objects hashed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

DIGEST_CHUNK = 150  # cells per hashed part: 150 ids of at most 48 characters (quoted, comma) stay under 10,000


def _compact(value: object) -> str:
    """What `States.JsonToString` yields: JSON without spaces."""
    return json.dumps(value, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def cells_digest(cells: Sequence[str]) -> str:
    """The digest of a wave's cells in deploy order."""
    parts = [{"d": _sha256(_compact(list(cells[i:i + DIGEST_CHUNK])))} for i in range(0, len(cells), DIGEST_CHUNK)]
    return _sha256(_compact(parts))
