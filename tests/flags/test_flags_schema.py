"""The generated flag files validate against flagd's published schema (vendored), `$ref` to targeting resolved."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from activation.render import render_flags
from tests.flags.flags_support import REPO, SAMPLE_DAYS, fleet_with_flag, sample_flags

SCHEMAS = REPO / "tests" / "schemas" / "flagd"
RICH_PLAN = """flag:
  key: richFlag
  description: every feature of a plan at once
  variants: {control: "a", treatment: "b", holdout: "c"}
  default: control
  serve: treatment
  release: {voice: 2.4.0, sms: 2.4.0}
  allowlist: [beta-1]
  denylist: [nope-1, nope-2]
  scope: {tiers: [canary, smb], cells: [enterprise-eu-standard]}
  start: 2026-03-02
  stages:
    - {date: 2026-03-03, percent: 10, scope: {tiers: [canary]}}
    - {day: 4, weights: {treatment: 30, holdout: 10, control: 60}, scope: {tiers: [canary, smb]}}
    - {day: 9, percent: 100}
"""


TARGETING_URI = "https://flagd.dev/schema/v0/targeting.json"


def _registry() -> tuple[Registry, str]:
    flags = json.loads((SCHEMAS / "flags.json").read_text(encoding="utf-8"))
    targeting = json.loads((SCHEMAS / "targeting.json").read_text(encoding="utf-8"))
    # flags.json refers to "./targeting.json" relative to its $id; draft 7 ignores an `$id` beside a
    # `$ref` at the root, so the file is entered through its URI, which then is the base.
    registry = Registry().with_resources([
        (flags["$id"], Resource.from_contents(flags)),
        (TARGETING_URI, Resource.from_contents(targeting)),
    ])
    return registry, flags["$id"]


def _validator() -> jsonschema.Draft7Validator:
    registry, flags_uri = _registry()
    return jsonschema.Draft7Validator({"$ref": flags_uri}, registry=registry)


def _rule_validator() -> jsonschema.Draft7Validator:
    """targeting.json's root only says "an object"; its rules are `$defs/targeting`, checked on every rule."""
    registry, _ = _registry()
    return jsonschema.Draft7Validator({"$ref": f"{TARGETING_URI}#/$defs/targeting"}, registry=registry)


def _rule_errors(document: Any) -> list[str]:
    rules = [*(f["targeting"] for f in document["flags"].values()), *document.get("$evaluators", {}).values()]
    validator = _rule_validator()
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for rule in rules for e in validator.iter_errors(rule)]


def _documents(tmp_path: Path) -> list[tuple[str, Any]]:
    rich = sample_flags(fleet_with_flag(tmp_path, "richFlag", RICH_PLAN))
    days = [None, *(d for d, _ in SAMPLE_DAYS.values()), date(2026, 3, 6)]
    return [(f"{label} {day}", json.loads(render_flags(flags, day)))
            for label, flags in (("sample", sample_flags()), ("rich", rich)) for day in days]


def test_generated_files_validate_against_the_flagd_schema(tmp_path: Path) -> None:
    validator = _validator()
    for label, document in _documents(tmp_path):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], label
        assert _rule_errors(document) == [], label


@pytest.mark.parametrize(
    "rule",
    [
        {"fractional": [{"cat": ["a", "b"]}, ["on", 5], ["off", 95]]},  # the bucketing value must be a var here
        {"in": [{"var": "customer_id"}, ["a", "b"]]},  # no array literal as an operand (hence our `merge`)
        {"if": [True, "on", "off", "extra"]},
        {"fractional": [["on", 5]]},
    ],
)
def test_the_rule_check_is_real(rule: Any) -> None:
    document = json.loads(render_flags(sample_flags()))
    document["flags"]["newVoiceCodec"]["targeting"] = rule
    assert _rule_errors(document)


def test_the_file_check_is_real() -> None:
    document = json.loads(render_flags(sample_flags()))
    document["flags"]["newVoiceCodec"]["state"] = "PAUSED"
    assert list(_validator().iter_errors(document))
    document["flags"]["newVoiceCodec"]["state"] = "ENABLED"
    document["flags"]["newVoiceCodec"]["variants"]["off"] = "no"  # a boolean flag with a string variant
    assert list(_validator().iter_errors(document))


@pytest.mark.parametrize("day", [None, date(2026, 3, 6)])
def test_rich_plan_evaluates_on_flagd_without_errors(tmp_path: Path, day: date | None) -> None:
    from openfeature.flag_evaluation import Reason

    from tests.flags.flags_support import client_for, flagd_clock

    client = client_for(render_flags(sample_flags(fleet_with_flag(tmp_path, "richFlag", RICH_PLAN)), day))
    with flagd_clock(date(2026, 3, 6)):
        values = [client.get_string_details("richFlag", "?", _ctx(f"c-{i}", "smb-eu-1", "smb")) for i in range(600)]
    assert all(v.reason != Reason.ERROR for v in values)
    counts = {x: sum(v.value == x for v in values) for x in "abc"}
    assert abs(counts["b"] / 600 - 0.30) < 0.07 and abs(counts["c"] / 600 - 0.10) < 0.05


def _ctx(customer: str, cell: str, tier: str) -> Any:
    from activation.provider import evaluation_context

    return evaluation_context(customer, cell, tier, "eu-west-1")
