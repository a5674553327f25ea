"""flagd's bucketing, for explaining a verdict: which of 100 buckets a subject falls in.

As flagd-core 2.0 computes it (ADR "Harden Hashing Consistency"): the bucketing value is
encoded as deterministic CBOR (for the shorthand on the targeting key, the pair
[flagKey, targetingKey]), hashed with MurmurHash3 x86 32-bit (seed 0, unsigned), and the
bucket is `hash * total_weight >> 32`. Our weights always total 100.
"""

from __future__ import annotations

from typing import Any

import cbor2
import mmh3

from model.flags import TARGETING_FIELD, FlagPlan, Stage

TOTAL_WEIGHT = 100


def bucket(flag_key: str, bucketing_key: str, value: str) -> int:
    """The subject's bucket, 0..99, for one flag."""
    payload: Any = [flag_key, value] if bucketing_key == TARGETING_FIELD else value
    digest = mmh3.hash(cbor2.dumps(payload, canonical=True), signed=False)
    return int((digest * TOTAL_WEIGHT) >> 32)


def variant_of(plan: FlagPlan, stage: Stage, slot: int) -> str:
    """The variant a bucket gets in a stage (weights in bucket order)."""
    end = 0
    for variant, weight in plan.weights(stage):
        end += weight
        if slot < end:
            return variant
    return plan.default
