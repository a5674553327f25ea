"""Flag tests' helpers: the sample plan, fleets to edit, the real evaluator behind the OpenFeature SDK,
flagd's clock, and an independent prediction of flagd's bucketing."""

from __future__ import annotations

import importlib
import itertools
import shutil
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient

from activation.plans import PlannedFlag
from activation.provider import FlagFileProvider, evaluation_context
from activation.schedule import epoch
from fleet.flag_inputs import load_flags
from fleet.inputs import load_fleet

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "newVoiceCodec"
# The seed's days: Day 1 deploy (off), Day 2 5%, Day 3 25%, Day 7 100%.
SAMPLE_DAYS = {1: (date(2026, 3, 2), 0), 2: (date(2026, 3, 3), 5), 3: (date(2026, 3, 4), 25), 7: (date(2026, 3, 8), 100)}
BETA = "enterprise-customer-123"
_domains = itertools.count()
# the module (its package re-exports a function of the same name) whose `time.time()` is `$flagd.timestamp`
flagd_targeting = importlib.import_module("openfeature.contrib.tools.flagd.core.targeting.targeting")


def sample_flags(root: Path = REPO) -> tuple[PlannedFlag, ...]:
    return load_flags(root, load_fleet(root))


def fleet_with_flag(tmp_path: Path, key: str, text: str) -> Path:
    """A copy of the sample cells with one activation plan `flags/<key>.yaml`."""
    root = tmp_path / "fleet"
    if not (root / "cells").exists():
        shutil.copytree(REPO / "cells", root / "cells")
    (root / "flags").mkdir(exist_ok=True)
    (root / "flags" / f"{key}.yaml").write_text(text, encoding="utf-8")
    return root


def client_for(flag_file: str) -> OpenFeatureClient:
    """An OpenFeature client (its own domain) whose provider evaluates `flag_file` with flagd's evaluator."""
    domain = f"flags-test-{next(_domains)}"
    api.set_provider_and_wait(FlagFileProvider(flag_file), domain=domain)
    return api.get_client(domain)


@contextmanager
def flagd_clock(day: date, seconds: int = 12 * 3600) -> Iterator[None]:
    """Set the clock flagd's targeting reads for `$flagd.timestamp` (noon UTC on `day` by default)."""
    instant = epoch(day) + seconds
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flagd_targeting, "time", SimpleNamespace(time=lambda: float(instant)))
        yield


def has_feature(client: OpenFeatureClient, key: str, customer: str, cell: tuple[str, str, str] | None = None) -> bool:
    context = evaluation_context(customer, *(cell or ()))
    return bool(client.get_boolean_value(key, False, context))


def customers(n: int = 10_000) -> list[str]:
    return [f"customer-{i:05d}" for i in range(n)]


# --- an independent prediction of flagd's bucketing (written from the ADR, not from flagd's code) ---
# "Harden Hashing Consistency" (flagd ADR, accepted): the shorthand `fractional` hashes the CBOR
# (RFC 8949, deterministic) encoding of the array [flagKey, targetingKey] with MurmurHash3 x86
# 32-bit, seed 0; the bucket is hash * totalWeight >> 32.

def murmur3_32(data: bytes, seed: int = 0) -> int:
    mask = 0xFFFFFFFF
    h = seed
    whole = len(data) // 4 * 4
    for (block,) in struct.iter_unpack("<I", data[:whole]):
        h ^= _scramble(block)
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[whole:]
    if tail:
        h ^= _scramble(int.from_bytes(tail, "little"))
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def _scramble(k: int) -> int:
    mask = 0xFFFFFFFF
    k = (k * 0xCC9E2D51) & mask
    k = ((k << 15) | (k >> 17)) & mask
    return (k * 0x1B873593) & mask


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I")):
        if length < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, length)
    raise ValueError("too long")


def cbor_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _cbor_head(3, len(raw)) + raw


def cbor_array(*items: bytes) -> bytes:
    return _cbor_head(4, len(items)) + b"".join(items)


def predicted_bucket(flag_key: str, customer: str) -> int:
    return (murmur3_32(cbor_array(cbor_text(flag_key), cbor_text(customer))) * 100) >> 32


def predicted_bucket_by_value(value: str) -> int:
    """The explicit form `fractional: [{"var": field}, ...]`: the value alone, CBOR-encoded."""
    return (murmur3_32(cbor_text(value)) * 100) >> 32
