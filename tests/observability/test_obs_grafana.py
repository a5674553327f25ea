"""The Grafana dashboard: a `cell_id` variable, rows repeated by cell, round-tripping through the SDK's own model."""

from __future__ import annotations

import json

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from model.contract import CELL_TELEMETRY
from observability.grafana import fleet_dashboard
from observability.settings import ObservabilitySettings

CELL = CELL_TELEMETRY["cell_id"].label


def test_round_trips_through_the_sdk_model(settings: ObservabilitySettings) -> None:
    document = fleet_dashboard(settings)
    register_default_plugins()  # panel and query decoders, as the SDK documents
    model = Dashboard.from_json(document)
    assert json.loads(json.dumps(model, cls=JSONEncoder)) == document
    assert model.uid == "cellfleet-fleet"


def test_cell_variable_and_repeat_by_cell(settings: ObservabilitySettings) -> None:
    document = fleet_dashboard(settings)
    variables = {v["name"]: v for v in document["templating"]["list"]}
    cell = variables[CELL]
    assert cell["type"] == "query" and cell["multi"] and cell["includeAll"]
    assert f", {CELL})" in cell["query"] and '"$tier"' in cell["query"] and '"$region"' in cell["query"]
    repeated = [p for p in document["panels"] if p.get("repeat") == CELL]
    assert len(repeated) == 1 and repeated[0]["type"] == "row"
    inner = repeated[0]["panels"]
    assert {p["type"] for p in inner} == {"timeseries", "logs"}
    for panel in inner:
        for target in panel["targets"]:
            assert f'{CELL}="${CELL}"' in target["expr"]  # every query of the row is the repeated cell's
    assert any("runbooks" in link.get("url", "") for link in document["links"])
