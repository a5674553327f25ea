"""The readiness gate: a stage may not turn a flag on in a cell that lacks the release, read from the
cell files or from the control-plane registry (moto's DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from activation.gate import declared_releases, gate
from fleet.aws import registry_releases
from fleet.cli import app
from fleet.inputs import load_fleet
from model.contract import DEFAULT_REGISTRY_TABLE
from model.errors import InputErrors
from model.registry import cell_facts
from model.versions import release_key
from tests.flags.flags_support import REPO, fleet_with_flag, sample_flags

# Canary first, then canary + SMB, then everyone; the code is in voice 2.5.0.
PLAN = """flag:
  key: newVoiceCodec
  description: New voice codec
  variants: {"on": true, "off": false}
  default: "off"
  release: {voice: 2.5.0}
  start: 2026-03-02
  stages:
    - {day: 2, percent: 5, scope: {tiers: [canary]}}
    - {day: 3, percent: 25, scope: {tiers: [canary, smb]}}
    - {day: 7, percent: 100}
"""
ONLY_CANARY_AND_SMB_EU_1 = ("canary-us-internal", "smb-eu-1")


def _fleet(tmp_path: Path, upgraded: tuple[str, ...] = ONLY_CANARY_AND_SMB_EU_1) -> Path:
    """The sample cells, with voice 2.5.0 on `upgraded` only."""
    root = fleet_with_flag(tmp_path, "newVoiceCodec", PLAN)
    for cell in upgraded:
        path = root / "cells" / f"{cell}.yaml"
        text = path.read_text(encoding="utf-8")
        voice = "  voice: {release: 2.5.0}\n"
        if "  voice: {" in text:  # a cell that already sets something for voice (an image digest)
            text = text.replace("  voice: {", "  voice: {release: 2.5.0, ")
        elif "services:\n" in text:
            text = text.replace("services:\n", "services:\n" + voice)
        else:
            text = f"{text}services:\n{voice}"
        path.write_text(text, encoding="utf-8")
    return root


def _messages(caught: pytest.ExceptionInfo[InputErrors]) -> list[str]:
    return [str(e) for e in caught.value.errors]


SMB_LAGGING = "smb-ap-1, smb-ap-2, smb-ap-3, smb-eu-2, smb-eu-3, smb-us-1, smb-us-2, smb-us-3, smb-us-4"


def test_gate_from_cell_files_refuses_the_stages_whose_scope_lags(tmp_path: Path) -> None:
    root = _fleet(tmp_path)
    flags, releases = sample_flags(root), declared_releases(load_fleet(root))
    gate(flags, releases, date(2026, 3, 3))  # day 2: canary only, which has 2.5.0
    with pytest.raises(InputErrors) as caught:
        gate(flags, releases, date(2026, 3, 4))
    assert _messages(caught) == [
        "flags/newVoiceCodec.yaml:10: flag.stages[1]: newVoiceCodec: stage 2 (2026-03-04, 25%) turns it on where voice 2.5.0 "
        f"is not deployed: 9 of 11 cells (cells): {SMB_LAGGING}"
    ]
    with pytest.raises(InputErrors) as caught:
        gate(flags, releases)  # the published file holds every stage
    assert [e.line for e in caught.value.errors] == [10, 11]
    assert caught.value.errors[1].message.endswith("12 of 14 cells (cells): enterprise-ap-standard, enterprise-eu-standard, "
                                                   f"enterprise-us-hipaa, {SMB_LAGGING}")


def test_gate_passes_once_every_cell_has_a_release_at_least_as_new(tmp_path: Path) -> None:
    root = _fleet(tmp_path, upgraded=tuple(load_fleet(REPO).ids))
    fleet = load_fleet(root)
    releases = declared_releases(fleet)
    releases["smb-us-4"] = {**releases["smb-us-4"], "voice": "2.10.0"}  # newer (not by string order)
    gate(sample_flags(root), releases)


def test_kill_switched_flag_is_not_gated(tmp_path: Path) -> None:
    root = _fleet(tmp_path)
    killed = PLAN.replace("  default:", "  state: disabled\n  default:")
    (root / "flags" / "newVoiceCodec.yaml").write_text(killed, encoding="utf-8")
    gate(sample_flags(root), declared_releases(load_fleet(root)))


def test_release_order() -> None:
    ordered = ["2.4.0", "2.5.0-rc.1", "2.5.0-rc.2", "2.5.0", "2.9.1", "2.10.0", "10.0.0"]
    shuffled = [ordered[i] for i in (3, 0, 6, 2, 5, 1, 4)]
    assert sorted(shuffled, key=release_key) == ordered


def test_cli_render_exits_1_naming_the_lagging_cells(tmp_path: Path) -> None:
    root = _fleet(tmp_path)
    result = CliRunner().invoke(app, ["flags", "render", "--at", "2026-03-04", "--root", str(root)])
    assert result.exit_code == 1
    assert isinstance(result.exception, InputErrors)
    assert str(result.exception).endswith(f"(declared in cells/): {SMB_LAGGING}")
    out = tmp_path / "f.json"
    ok = CliRunner().invoke(app, ["flags", "render", "--at", "2026-03-03", "--root", str(root), "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert '"newVoiceCodec"' in out.read_text(encoding="utf-8")


@pytest.fixture
def registry() -> Iterator[Any]:
    """The control-plane registry on moto, one item per sample cell as its stack writes it (voice 2.5.0 everywhere)."""
    with mock_aws():
        table = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName=DEFAULT_REGISTRY_TABLE,
            KeySchema=[{"AttributeName": "cell_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "cell_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for cell in load_fleet(REPO).cells:
            table.put_item(Item=cell_facts(cell.with_release("2.5.0")))
        yield table


def test_gate_from_the_registry(registry: Any, tmp_path: Path) -> None:
    root = _fleet(tmp_path)  # the cell files lag; the registry says what actually runs
    flags = sample_flags(root)
    gate(flags, registry_releases(registry), None, "registry")
    registry.update_item(Key={"cell_id": "smb-eu-2"}, UpdateExpression="SET releases.voice = :v",
                         ExpressionAttributeValues={":v": "2.4.0"})
    registry.delete_item(Key={"cell_id": "enterprise-us-hipaa"})  # not registered: lagging too
    with pytest.raises(InputErrors) as caught:
        gate(flags, registry_releases(registry), None, "registry")
    assert [e.message.rsplit(": ", 1)[1] for e in caught.value.errors] == ["smb-eu-2", "enterprise-us-hipaa, smb-eu-2"]
    assert "(registry)" in caught.value.errors[0].message


def test_cli_status_and_render_read_the_registry(registry: Any, tmp_path: Path) -> None:
    root = _fleet(tmp_path)
    args = ["--registry", "--region", "us-east-1", "--root", str(root)]
    assert CliRunner().invoke(app, ["flags", "render", *args]).exit_code == 0
    registry.update_item(Key={"cell_id": "smb-us-1"}, UpdateExpression="SET releases.voice = :v",
                         ExpressionAttributeValues={":v": "2.4.9"})
    failed = CliRunner().invoke(app, ["flags", "render", *args])
    assert failed.exit_code == 1
    assert str(failed.exception).endswith(f"(registry {DEFAULT_REGISTRY_TABLE}): smb-us-1")
    status = CliRunner().invoke(app, ["flags", "status", "--at", "2026-03-04", *args])
    assert status.exit_code == 0, status.output
    row = next(line for line in status.stdout.splitlines() if line.startswith("newVoiceCodec"))
    assert row.split()[:3] == ["newVoiceCodec", "enabled", "25%"]
    assert "blocked: 1 cells lack the release" in row
