"""Per-wave runtime settings: what the policy fixes, and the few timings the input may override.

The rollout definition carries each wave's settings compiled from the policy. Only the
`OVERRIDABLE` timings are read from the execution input's `settings` (merged over the
wave's defaults, then picked key by key), so a test or an operator can run the same
definition with 0-second bakes or longer timeouts; approval, customer notices, one at a
time, concurrency and channels never come from the input.
"""

from __future__ import annotations

from typing import Any

from pipelines.health_checks import check_settings, quiet_seconds
from pipelines.waves import Wave

OVERRIDABLE = (
    "bake_seconds",
    "health_check_interval_seconds",
    "deploy_timeout_seconds",
    "approval_timeout_seconds",
)


def fixed_settings(wave: Wave) -> dict[str, Any]:
    """The settings compiled into the definition from the policy: never taken from the input."""
    policy = wave.policy
    return {
        "wave": wave.name,
        "index": wave.index,
        "one_at_a_time": policy.one_at_a_time,
        "max_concurrency": policy.concurrency,
        "approval": policy.approval,
        "notify_customers": policy.notify_customers,
        "channels": list(policy.notifications),
        "checks": check_settings(policy),
        "quiet_seconds": quiet_seconds(policy),
    }


def overridable_defaults(wave: Wave, deploy_timeout_seconds: int) -> dict[str, Any]:
    """The `OVERRIDABLE` timings of a wave as the policy sets them."""
    policy = wave.policy
    return {
        "bake_seconds": int(policy.bake.max.total_seconds()),
        "health_check_interval_seconds": max(1, int(policy.health_check_interval.total_seconds())),
        "deploy_timeout_seconds": deploy_timeout_seconds,
        "approval_timeout_seconds": int(policy.approval_timeout.total_seconds()),
    }


def wave_defaults(wave: Wave, deploy_timeout_seconds: int) -> dict[str, Any]:
    """The settings a wave runs with unless the execution input overrides a timing."""
    return {**fixed_settings(wave), **overridable_defaults(wave, deploy_timeout_seconds)}


def effective(defaults: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """What the rollout machine hands a wave: the defaults with only the `OVERRIDABLE` keys replaced."""
    return {**defaults, **{k: v for k, v in (overrides or {}).items() if k in OVERRIDABLE}}


def check_overrides(overrides: dict[str, Any]) -> list[str]:
    """Problems with operator-supplied overrides (unknown keys, non-integers, a zero poll interval)."""
    problems = []
    for key, value in sorted(overrides.items()):
        if key not in OVERRIDABLE:
            problems.append(f"unknown setting {key!r} (one of {', '.join(OVERRIDABLE)})")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"setting {key!r} must be a whole number of seconds >= 0")
        elif key == "health_check_interval_seconds" and value < 1:
            problems.append("setting 'health_check_interval_seconds' must be at least 1")
        elif key.endswith("timeout_seconds") and value < 1:
            problems.append(f"setting {key!r} must be at least 1")
    return problems
