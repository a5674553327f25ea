"""`fleet flags explain` against flagd's verdicts, usage errors, and the flag file in `fleet build`."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from activation.render import render_flags
from activation.views import explain
from fleet.build import render_documents
from fleet.cli import app
from fleet.inputs import load_fleet, load_inputs
from tests.flags.flags_support import BETA, REPO, SAMPLE, SAMPLE_DAYS, client_for, customers, has_feature, sample_flags

runner = CliRunner()


@pytest.mark.parametrize(
    ("customer", "day", "verdict", "why"),
    [
        (BETA, "2026-03-01", "off", "why: before the flag's start (2026-03-02)"),
        (BETA, "2026-03-02", "on", "why: allowlisted"),
        ("customer-00001", "2026-03-02", "off", "why: no stage has started yet"),
        ("customer-00001", "2026-03-04", "off", "why: stage 2/3 (day 3, 2026-03-04): bucket 68 of 100 on customer_id -> off"),
        ("customer-00001", "2026-03-08", "on", "why: stage 3/3 (day 7, 2026-03-08): on for everyone in scope"),
    ],
)
def test_explain(customer: str, day: str, verdict: str, why: str) -> None:
    result = runner.invoke(app, ["flags", "explain", SAMPLE, "--customer", customer, "--cell", "smb-eu-1", "--at", day,
                                 "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.startswith(f"{SAMPLE} for {customer} in smb-eu-1 on {day}: {verdict} = {verdict == 'on'} (")
    assert second.startswith(why)


def test_explained_bucket_and_variant_agree_with_flagd_for_many_customers() -> None:
    (flag,) = sample_flags()
    cell = load_fleet(REPO).cell("smb-us-1")
    day = SAMPLE_DAYS[3][0]
    client = client_for(render_flags([flag], day))
    for cid in customers(300):
        said = explain(flag, cid, cell, day)
        assert said.value is (said.variant == "on") is has_feature(client, SAMPLE, cid, (cell.id, cell.tier.value, cell.region))
        assert said.why.endswith(f"bucket {said.bucket} of 100 on customer_id -> {said.variant}")
        assert (said.bucket is not None and said.bucket < 25) == (said.variant == "on")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "nope", "--customer", "c-1"], "no flag 'nope'"),
        (["explain", SAMPLE, "--customer", "c 1"], "is not a customer id"),
        (["explain", SAMPLE, "--customer", "c-1", "--cell", "mars-1"], "unknown cell 'mars-1'"),
        (["render", "--at", "someday"], "'someday' is not a date"),
        (["status", "--at", "2026-13-01"], "is not a date"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["flags", *args, "--root", str(REPO)])
    assert result.exit_code == 2
    assert message in result.output


def test_build_writes_the_published_flag_file() -> None:
    inputs = load_inputs(REPO)
    rendered = render_documents(inputs, date(2026, 3, 4))
    assert rendered.files["flags/flags.json"] == render_flags(sample_flags())
    assert json.loads(rendered.files["flags/flags.json"])["flags"][SAMPLE]["state"] == "ENABLED"
    assert any(line.startswith("flags: 1 flags") for line in rendered.summary)
