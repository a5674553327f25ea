"""Per-wave runtime settings: the policy's defaults, overridable from the execution input.

The rollout definition carries each wave's defaults; the execution input's `settings` object
is merged over them (`States.JsonMerge`), so a test or an operator can run the same
definition with 0-second bakes or longer timeouts without editing it.
"""

from __future__ import annotations

from typing import Any

from pipelines.waves import Wave

OVERRIDABLE = (
    "bake_seconds",
    "health_check_interval_seconds",
    "deploy_timeout_seconds",
    "approval_timeout_seconds",
)


def wave_defaults(wave: Wave, deploy_timeout_seconds: int) -> dict[str, Any]:
    """The settings a wave runs with unless the execution input overrides them."""
    policy = wave.policy
    return {
        "wave": wave.name,
        "index": wave.index,
        "one_at_a_time": policy.one_at_a_time,
        "max_concurrency": policy.concurrency,
        "approval": policy.approval,
        "notify_customers": policy.notify_customers,
        "channels": list(policy.notifications),
        "bake_seconds": int(policy.bake.max.total_seconds()),
        "health_check_interval_seconds": max(1, int(policy.health_check_interval.total_seconds())),
        "deploy_timeout_seconds": deploy_timeout_seconds,
        "approval_timeout_seconds": int(policy.approval_timeout.total_seconds()),
    }


def effective(defaults: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """What `States.JsonMerge(defaults, overrides, false)` yields at run time."""
    return {**defaults, **(overrides or {})}


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
