"""Rollout policy (`pipelines/rollout.yaml`): the ordered waves a release goes through."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from model.cells import CHANNEL, Tier
from model.contract import CELL_DIMENSION, IssueType
from model.durations import Duration
from model.errors import InputError, InputErrors
from model.validation import Strict, parse_model
from model.yamldoc import Document

POLICY_FILE = "pipelines/rollout.yaml"
DEFAULT_POLICY = "defaults/rollout.yaml"  # package data of `model`: the seed's policy, no fleet-specific ids


class Selection(Strict):
    """Which cells a wave takes, from those no earlier wave took.

    `tier` alone: every remaining cell of the tier. `tier` + `fraction`: that share of the
    tier's cells (rounded up), chosen stably and spread across regions. `cells`: explicit ids
    or globs, in the order given (the enterprise order).
    """

    tier: Tier | None = None
    fraction: float | None = Field(default=None, gt=0, le=1)
    cells: tuple[str, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_way(self) -> Selection:
        if self.tier is None and self.cells is None:
            raise ValueError("select needs a tier or a list of cells")
        if self.fraction is not None and self.tier is None:
            raise ValueError("fraction needs a tier")
        if self.fraction is not None and self.cells is not None:
            raise ValueError("use either fraction or cells, not both")
        return self


class Bake(Strict):
    """How long a wave (or each cell, one at a time) bakes: the plan's earliest and latest."""

    min: Duration
    max: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Bake:
        if self.max < self.min:
            raise ValueError("max must not be shorter than min")
        return self


class CheckKind(StrEnum):
    METRIC = "metric"  # an issue type the cells publish and alarm on (`model.contract.ISSUE_MEASURES`)
    QUIET = "quiet"  # no alarm of the cell fired during the last `window`
    EXTERNAL = "external"  # a metric another tool publishes per cell (e.g. customer complaints)


CHECK_NAME = r"^[a-z][a-z0-9_-]{0,39}$"
STATISTIC = r"^(Sum|Average|Maximum|Minimum|SampleCount|p\d{1,2}(\.\d{1,2})?)$"
_FIELDS = {  # required, then allowed, keys per kind (besides `kind` and `name`)
    CheckKind.METRIC: ({"metric", "below"}, set()),
    CheckKind.QUIET: ({"window"}, set()),
    CheckKind.EXTERNAL: ({"name", "namespace", "metric", "below"}, {"dimension", "statistic"}),
}


class HealthCheck(Strict):
    """One bake check of a wave, evaluated per cell over the bake by the pipeline (see `pipelines.health_checks`).

    `metric`: the issue type's value over the bake must stay `below` (percent, ms: `ISSUE_MEASURES`).
    `quiet`: none of the cell's alarms fired during the last `window` of the bake.
    `external`: `statistic` of `namespace`/`metric` with dimension `dimension` = the cell id, over the
    bake, must stay `below`.
    """

    kind: CheckKind
    name: str | None = Field(default=None, pattern=CHECK_NAME)
    metric: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,255}$")
    below: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    window: Duration | None = None
    namespace: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.#:/-]{1,255}$")
    dimension: str = Field(default=CELL_DIMENSION, pattern=r"^[A-Za-z0-9_.#:/-]{1,255}$")
    statistic: str = Field(default="Sum", pattern=STATISTIC)

    @property
    def id(self) -> str:
        """How results and errors name the check: its name, else the issue type, else `quiet`."""
        return self.name or (self.metric if self.kind is CheckKind.METRIC and self.metric else self.kind.value)


class WavePolicy(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    select: Selection
    bake: Bake
    health_check_interval: Duration = timedelta(minutes=5)
    one_at_a_time: bool = False
    max_concurrency: int = Field(default=10, ge=1, le=1000)
    failure_tolerance: int = Field(default=0, ge=0)
    approval: bool = False
    approval_timeout: Duration = timedelta(hours=24)
    notify_customers: bool = False
    notifications: tuple[str, ...] = ()
    checks: tuple[HealthCheck, ...] = ()

    @property
    def concurrency(self) -> int:
        """How many cells of the wave deploy at once."""
        return 1 if self.one_at_a_time else self.max_concurrency


class RolloutPolicy(Strict):
    deploy_timeout: Duration = timedelta(hours=1)
    deploy_estimate: Duration = timedelta(minutes=15)
    waves: tuple[WavePolicy, ...] = Field(min_length=1)


def parse_policy(doc: Document) -> RolloutPolicy:
    """Validate a rollout policy, refusing options the state machines do not implement."""
    policy = parse_model(doc, RolloutPolicy)
    errors = [
        doc.error(("waves", i, "failure_tolerance"), "the pipeline rolls back on the first failure; only 0 is supported")
        for i, wave in enumerate(policy.waves) if wave.failure_tolerance
    ]
    errors.extend(value_errors(policy, doc))
    if errors:
        raise InputErrors(errors)
    return policy


# --- values that parse but make no sense to run (issue 11) ---

MAX_DURATION = timedelta(days=365)  # a Step Functions standard workflow runs for at most a year


def value_errors(policy: RolloutPolicy, doc: Document) -> list[InputError]:
    """Durations that cannot run, contradicting wave options, notification targets that are not channels."""
    errors = _duration_errors(doc, (), {"deploy_timeout": policy.deploy_timeout, "deploy_estimate": policy.deploy_estimate})
    if not policy.deploy_timeout:
        errors.append(doc.error(("deploy_timeout",), "must be longer than 0s"))
    for i, wave in enumerate(policy.waves):
        errors.extend(_wave_errors(wave, doc, ("waves", i)))
    return errors


def _duration_errors(doc: Document, at: tuple[str | int, ...], durations: dict[str, timedelta]) -> list[InputError]:
    return [doc.error((*at, *key.split(".")), f"longer than {MAX_DURATION.days}d, the longest a rollout can run")
            for key, value in durations.items() if value > MAX_DURATION]


def _wave_errors(wave: WavePolicy, doc: Document, at: tuple[str | int, ...]) -> list[InputError]:
    errors = _duration_errors(doc, at, {"bake.min": wave.bake.min, "bake.max": wave.bake.max,
                                        "health_check_interval": wave.health_check_interval,
                                        "approval_timeout": wave.approval_timeout})
    if not wave.health_check_interval:
        errors.append(doc.error((*at, "health_check_interval"), "must be longer than 0s"))
    elif wave.bake.max and wave.health_check_interval > wave.bake.max:
        errors.append(doc.error((*at, "health_check_interval"),
                                "longer than the bake (bake.max): the wave would never be checked while baking"))
    if wave.approval and not wave.approval_timeout:
        errors.append(doc.error((*at, "approval_timeout"), "must be longer than 0s"))
    if wave.one_at_a_time and "max_concurrency" in wave.model_fields_set:
        errors.append(doc.error((*at, "max_concurrency"), "contradicts one_at_a_time: true (which deploys one cell "
                                                          "at a time); set one of them"))
    errors.extend(doc.error((*at, "notifications", j), f"{target!r} is not a channel like slack://releases "
                                                        "(slack, mailto, https, sns, pagerduty)")
                  for j, target in enumerate(wave.notifications) if not CHANNEL.match(target))
    errors.extend(_check_errors(wave, doc, (*at, "checks")))
    return errors


def _check_errors(wave: WavePolicy, doc: Document, at: tuple[str | int, ...]) -> list[InputError]:
    """Keys a check's kind needs or does not take, unknown issue types, windows the bake cannot hold."""
    errors: list[InputError] = []
    seen: set[str] = set()
    for j, check in enumerate(wave.checks):
        given = check.model_fields_set - {"kind"}
        required, optional = _FIELDS[check.kind]
        kind = f"{_article(check.kind)} {check.kind.value} check"
        errors.extend(doc.error((*at, j), f"{kind} needs {key}") for key in sorted(required - given))
        errors.extend(doc.error((*at, j, key), f"not a key of {kind}")
                      for key in sorted(given - required - optional - {"name"}))
        if check.kind is CheckKind.METRIC and check.metric and check.metric not in set(IssueType):
            errors.append(doc.error((*at, j, "metric"), f"unknown metric {check.metric!r} (one of "
                                    f"{', '.join(i.value for i in IssueType)}, as the cells publish and alarm on)"))
        if check.window is not None:
            if not check.window:
                errors.append(doc.error((*at, j, "window"), "must be longer than 0s"))
            elif check.window > wave.bake.max:
                errors.append(doc.error((*at, j, "window"), "longer than the bake (bake.max): "
                                        "the last part of a bake cannot be longer than the bake"))
        if check.id in seen:
            errors.append(doc.error((*at, j), f"a second check named {check.id!r}: give each check its own name"))
        seen.add(check.id)
    quiet = [j for j, check in enumerate(wave.checks) if check.kind is CheckKind.QUIET]
    errors.extend(doc.error((*at, j, "kind"), "a wave has at most one quiet check (one window per bake)")
                  for j in quiet[1:])
    return errors


def _article(kind: CheckKind) -> str:
    return "an" if kind is CheckKind.EXTERNAL else "a"
