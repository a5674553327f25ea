"""Activation plans (`flags/<flag-key>.yaml`): when a deployed feature is turned on, for whom, where.

A plan names the release that carries the code (per product service), the variants and the
default, who always gets it (allowlist) and who never does (denylist), an optional scope (tiers
or cells), and stages by date or by day after `start` (Day 1, when the deploy is complete).
`state: disabled` is the kill switch. Checks the schema cannot make are here, with lines; checks against the fleet (scopes) are in
`activation.plans`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, PlainValidator, StrictInt, model_validator

from model.cells import CellId, Product, SemVer, Tier
from model.errors import InputError, InputErrors
from model.validation import Strict, parse_model
from model.yamldoc import Document

FLAGS_DIR = "flags"
FLAG_KEY = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"
VARIANT = r"^[a-z][a-z0-9_-]{0,31}$"
SUBJECT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"  # a customer id as it may appear in a flag file
MAX_LIST = 1000  # allowlist / denylist entries: a beta programme, not a segment database

# The evaluation context every cell supplies (see activation.sidecar): OpenFeature's targeting
# key is the customer id; the cell's identity comes from the cell module.
TARGETING_FIELD = "customer_id"
CONTEXT_FIELDS = ("customer_id", "cell_id", "tier", "region")
BUCKETING_FIELDS = ("customer_id", "cell_id")  # per-subject fields: a percent of them means something


class FlagState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"  # the kill switch: off everywhere at once


def _unique(value: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for item in value:
        if item in seen:
            raise ValueError(f"{item!r} is listed twice")
        seen.add(item)
    return value


SubjectId = Annotated[str, Field(pattern=SUBJECT_ID)]
Variant = Annotated[str, Field(pattern=VARIANT)]


def _scalar(value: object) -> bool | int | float | str:
    """One line for a non-scalar value (a plain union would report each member's complaint)."""
    if isinstance(value, bool | int | float | str):
        return value
    shown = "null" if value is None else "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) \
        else type(value).__name__
    raise ValueError(f"a variant's value must be a boolean, number or string, not {shown}")


VariantValue = Annotated[bool | int | float | str, PlainValidator(_scalar)]


class Scope(Strict):
    """Where a stage applies: cells of these tiers, and these cells; empty means the whole fleet."""

    tiers: Annotated[tuple[Tier, ...], AfterValidator(_unique)] = ()
    cells: Annotated[tuple[CellId, ...], AfterValidator(_unique)] = ()

    @property
    def everywhere(self) -> bool:
        return not self.tiers and not self.cells

    def label(self) -> str:
        if self.everywhere:
            return "fleet"
        return ", ".join([*(f"tier {t.value}" for t in self.tiers), *self.cells])


EVERYWHERE = Scope()


class Stage(Strict):
    """One step of the activation: from `date` (or Day `day`), `percent` of subjects (or explicit `weights`)."""

    day: int | None = Field(default=None, ge=1, le=3650)
    date: dt.date | None = None
    percent: StrictInt | None = Field(default=None, ge=0, le=100)
    weights: dict[Variant, StrictInt] | None = None
    scope: Scope | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> Stage:
        if (self.day is None) == (self.date is None):
            raise ValueError("give exactly one of day or date")
        if (self.percent is None) == (self.weights is None):
            raise ValueError("give exactly one of percent or weights")
        return self


class FlagPlan(Strict):
    key: str = Field(pattern=FLAG_KEY)
    description: str = Field(min_length=1, max_length=500)
    state: FlagState = FlagState.ENABLED
    variants: dict[Variant, VariantValue] = Field(min_length=2)
    default: Variant
    serve: Variant | None = None  # what `percent` rolls out; the other variant of a two-variant flag
    release: dict[Product, SemVer] = Field(min_length=1)
    bucketing_key: str = TARGETING_FIELD
    allowlist: tuple[SubjectId, ...] = Field(default=(), max_length=MAX_LIST)
    denylist: tuple[SubjectId, ...] = Field(default=(), max_length=MAX_LIST)
    scope: Scope = EVERYWHERE
    start: date
    stages: tuple[Stage, ...] = ()

    @property
    def served(self) -> str:
        """The variant the rollout serves (validated to exist by `parse_flag`)."""
        if self.serve is not None:
            return self.serve
        return next(v for v in self.variants if v != self.default)

    def stage_start(self, stage: Stage) -> date:
        """The first day of a stage (Day 1 is `start`)."""
        return stage.date if stage.date is not None else self.start + timedelta(days=(stage.day or 1) - 1)

    def stage_scope(self, stage: Stage) -> Scope:
        return stage.scope if stage.scope is not None else self.scope

    def weights(self, stage: Stage) -> tuple[tuple[str, int], ...]:
        """The stage's split in bucket order: rolled-out variants in declaration order, the default last.

        Keeping that order fixed across stages is what makes bucketing consistent: a subject in
        the first 5 buckets is still in the first 25.
        """
        given = stage.weights if stage.weights is not None else {
            self.served: stage.percent or 0, self.default: 100 - (stage.percent or 0)}
        ordered = [v for v in self.variants if v != self.default] + [self.default]
        return tuple((v, given[v]) for v in ordered if v in given)

    def share(self, stage: Stage) -> int:
        """Percent of subjects who get something other than the default in this stage."""
        return sum(w for v, w in self.weights(stage) if v != self.default)


class FlagFile(Strict):
    flag: FlagPlan


def flag_file(key: str) -> str:
    """Where a flag's activation plan is, relative to the fleet root."""
    return f"{FLAGS_DIR}/{key}.yaml"


def parse_flag(doc: Document, key: str) -> FlagPlan:
    """Validate one activation plan (shape, then the semantic checks), or raise InputErrors."""
    plan = parse_model(doc, FlagFile).flag
    errors = list(_semantic_errors(plan, doc, key))
    if errors:
        raise InputErrors(errors)
    return plan


def _semantic_errors(plan: FlagPlan, doc: Document, key: str) -> Iterator[InputError]:
    at = ("flag",)
    if plan.key != key:
        yield doc.error((*at, "key"), f"must equal the file name {key!r}")
    yield from _variant_errors(plan, doc)
    if plan.bucketing_key not in BUCKETING_FIELDS:
        yield doc.error((*at, "bucketing_key"), f"{plan.bucketing_key!r} is not a per-subject field of the evaluation "
                                                 f"context; one of: {', '.join(BUCKETING_FIELDS)}")
    for name in ("allowlist", "denylist"):
        entries: tuple[str, ...] = getattr(plan, name)
        yield from (doc.error((*at, name, j), f"{c!r} is listed twice") for j, c in enumerate(entries) if c in entries[:j])
    for customer in sorted(set(plan.allowlist) & set(plan.denylist)):
        yield doc.error((*at, "denylist", plan.denylist.index(customer)), f"{customer!r} is also in the allowlist")
    for i, stage in enumerate(plan.stages):
        yield from _stage_errors(plan, doc, i, stage)


def _variant_errors(plan: FlagPlan, doc: Document) -> Iterator[InputError]:
    at = ("flag",)
    kinds = {"bool" if isinstance(v, bool) else "number" if isinstance(v, int | float) else "string"
             for v in plan.variants.values()}
    if len(kinds) > 1:
        yield doc.error((*at, "variants"), f"variants must all be of one type, got {', '.join(sorted(kinds))}")
    if plan.default not in plan.variants:
        yield doc.error((*at, "default"), f"unknown variant {plan.default!r}; variants: {', '.join(plan.variants)}")
    if plan.serve is not None and plan.serve not in plan.variants:
        yield doc.error((*at, "serve"), f"unknown variant {plan.serve!r}; variants: {', '.join(plan.variants)}")
    elif plan.serve is not None and plan.serve == plan.default:
        yield doc.error((*at, "serve"), "must differ from the default variant")
    elif plan.serve is None and len(plan.variants) > 2 and any(s.percent is not None for s in plan.stages):
        yield doc.error((*at, "serve"), "required: which of the variants does percent roll out")


def _stage_errors(plan: FlagPlan, doc: Document, i: int, stage: Stage) -> Iterator[InputError]:
    at = ("flag", "stages", i)
    if stage.weights is not None:
        for variant in stage.weights:
            if variant not in plan.variants:
                yield doc.error((*at, "weights", variant), f"unknown variant {variant!r}")
        if sum(stage.weights.values()) != 100:
            yield doc.error((*at, "weights"), f"weights sum to {sum(stage.weights.values())}, not 100")
        if any(w < 0 for w in stage.weights.values()):
            yield doc.error((*at, "weights"), "weights must not be negative")
    start = plan.stage_start(stage)
    when = "date" if stage.date is not None else "day"
    if start < plan.start:
        yield doc.error((*at, when), f"{start.isoformat()} is before the flag's start {plan.start.isoformat()}")
    if i == 0:
        return
    before = plan.stages[i - 1]
    if start <= plan.stage_start(before):
        previous_start = plan.stage_start(before).isoformat()
        yield doc.error((*at, when), f"{start.isoformat()} is not after the previous stage's {previous_start}")
    if stage.weights is None or all(v in plan.variants for v in stage.weights):
        share, previous = plan.share(stage), plan.share(before)
        if share < previous:
            yield doc.error((*at, "percent" if stage.percent is not None else "weights"),
                            f"{share}% is less than the previous stage's {previous}%: stages only increase "
                            "(turn the flag off with state: disabled)")
