"""Readiness gate: from the cells' declared versions and from the registry in (moto's) DynamoDB."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from fleet.aws import registry_support
from fleet.cli import app
from fleet.inputs import load_fleet, load_routes
from landing_zone.lifecycle import compile_edge
from landing_zone.readiness import declared_support, gate, readiness, status_table
from model.cells import Product
from model.contract import DEFAULT_REGISTRY_TABLE
from model.errors import InputErrors
from tests.landing_zone.lz_support import DAY_SUNSET, REPO

ENABLE_VIDEO_V2 = (
    "    status: disabled\n    backend: ${cell_router}/video/v2/rooms\n",
    "    status: active\n    backend: ${cell_router}/video/v2/rooms\n",
)


def enable_video_v2(text: str) -> str:
    assert ENABLE_VIDEO_V2[0] in text
    return text.replace(*ENABLE_VIDEO_V2)


def video_v2_status_line() -> int:
    lines = (REPO / "landing_zone/api-gateway-config.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if "video/v2/rooms" in line) - 1


def test_sample_config_passes_the_gate() -> None:
    fleet = load_fleet(REPO)
    routes = load_routes(REPO)
    gate(routes, compile_edge(routes, DAY_SUNSET), declared_support(fleet), fleet.ids)


def test_cell_lacking_v2_blocks_active_v2_and_is_named(fleet_copy: Callable[..., Path]) -> None:
    root = fleet_copy(enable_video_v2)
    fleet = load_fleet(root)
    routes = load_routes(root)
    with pytest.raises(InputErrors) as caught:
        gate(routes, compile_edge(routes, DAY_SUNSET), declared_support(fleet), fleet.ids)
    assert [str(e) for e in caught.value.errors] == [
        f"landing_zone/api-gateway-config.yaml:{video_v2_status_line()}: routes[6].status: /v2/Rooms is active but "
        "video v2 is not served by 1 of 14 cells (cells): enterprise-us-hipaa"
    ]


def test_cli_gate_exits_1_listing_the_lagging_cell(fleet_copy: Callable[..., Path]) -> None:
    root = fleet_copy(enable_video_v2)
    result = subprocess.run(
        [sys.executable, "-m", "fleet", "gateway", "--target", "nginx", "--root", str(root), "--at", "2025-07-01"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().endswith("(declared in cells/): enterprise-us-hipaa")
    assert "Traceback" not in result.stderr


def test_status_table_counts_ready_cells() -> None:
    rows = {(r.service, r.version): r for r in status_table(load_routes(REPO), declared_support(load_fleet(REPO)))}
    assert rows[(Product.VIDEO, "v2")].lagging == ("enterprise-us-hipaa",)
    assert len(rows[(Product.VIDEO, "v2")].ready) == 13
    assert all(r.all_ready for k, r in rows.items() if k != (Product.VIDEO, "v2"))


def test_cell_missing_from_support_is_lagging() -> None:
    state = readiness({"a-cell": {"sms": ("v1",)}}, Product.SMS, "v1", cells=("a-cell", "b-cell"))
    assert (state.ready, state.lagging) == (("a-cell",), ("b-cell",))


@pytest.fixture
def registry() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        table = dynamodb.create_table(
            TableName=DEFAULT_REGISTRY_TABLE,
            KeySchema=[{"AttributeName": "cell_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "cell_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        fleet = load_fleet(REPO)
        for cell in fleet.cells:
            table.put_item(
                Item={
                    "cell_id": cell.id,
                    "tier": cell.tier.value,
                    "region": cell.region,
                    # what the registry says, not what cells/ declares: every cell has video v2 by now
                    "versions": {p.value: ["v1", "v2"] for p in Product},
                    "release": {p.value: "2.5.0" for p in Product},
                }
            )
        yield table


def test_gate_reads_the_registry(registry: Any, fleet_copy: Callable[..., Path]) -> None:
    root = fleet_copy(enable_video_v2)
    fleet = load_fleet(root)
    routes = load_routes(root)
    support = registry_support(registry)
    gate(routes, compile_edge(routes, DAY_SUNSET), support, fleet.ids, "registry")  # registry: all ready
    registry.update_item(
        Key={"cell_id": "smb-eu-2"},
        UpdateExpression="SET versions.video = :v",
        ExpressionAttributeValues={":v": ["v1"]},
    )
    with pytest.raises(InputErrors) as caught:
        gate(routes, compile_edge(routes, DAY_SUNSET), registry_support(registry), fleet.ids, "registry")
    assert caught.value.errors[0].message.endswith("video v2 is not served by 1 of 14 cells (registry): smb-eu-2")


def test_status_command_reads_the_registry(registry: Any) -> None:
    registry.delete_item(Key={"cell_id": "smb-us-4"})
    result = CliRunner().invoke(app, ["gateway", "status", "--registry", "--region", "us-east-1", "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in result.stdout.splitlines()[2:]}
    assert rows[("video", "v2")] == ["13/14", "smb-us-4"]  # deregistered cell counts as lagging
    assert rows[("sms", "v1")] == ["13/14", "smb-us-4"]
