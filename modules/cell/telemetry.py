"""cell_id everywhere: what every workload and log group of a cell is tagged with (model.contract.CELL_TELEMETRY)."""

from __future__ import annotations

from model.cells import Cell
from model.contract import CELL_TELEMETRY


def _values(cell: Cell) -> dict[str, str]:
    return {"cell_id": cell.id, "tier": cell.tier.value, "region": cell.region}


def resource_attributes(cell: Cell, service: str) -> str:
    """`OTEL_RESOURCE_ATTRIBUTES` for one service of the cell (`cell.id=…,cell.tier=…,…`).

    Cell ids, tiers, regions and service names (products, `flagd`) are `[a-z0-9-]`, so no value
    needs the W3C baggage percent-encoding the variable otherwise calls for.
    """
    values = {**_values(cell), "service": service}
    return ",".join(f"{CELL_TELEMETRY[key].resource_attribute}={value}" for key, value in values.items())


def observability_env(cell: Cell, service: str) -> list[dict[str, str]]:
    """The container environment that puts the cell's identity on every span, metric and log record."""
    return [
        {"name": "OTEL_SERVICE_NAME", "value": service},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": resource_attributes(cell, service)},
    ]


def log_group_tags(cell: Cell) -> dict[str, str]:
    """Tags of the cell's log groups: the log field names, so a tag filter and a log query agree."""
    return {CELL_TELEMETRY[key].log_field: value for key, value in _values(cell).items()}
