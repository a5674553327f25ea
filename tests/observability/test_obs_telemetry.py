"""cell_id everywhere: the env the Cell module sets puts `cell.id` on every record the OpenTelemetry SDK emits."""

from __future__ import annotations

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from fleet.mocking import new_event_loop
from fleet.preview import preview_cell
from model.cells import Fleet
from model.contract import CELL_TELEMETRY, cell_log_group
from modules.cell.workloads import workload_manifests
from tests.observability.conftest import alarm_names


def _containers(fleet: Fleet) -> list[tuple[str, dict[str, str]]]:
    out = []
    for cell in fleet.cells:
        for manifest in workload_manifests(cell):
            if manifest["kind"] == "Deployment":
                for container in manifest["spec"]["template"]["spec"]["containers"]:
                    out.append((cell.id, {e["name"]: e["value"] for e in container["env"]}))
    return out


def test_every_workload_carries_the_cell_resource_attributes(fleet: Fleet) -> None:
    containers = _containers(fleet)  # each service's container and its flagd sidecar
    assert len(containers) == sum(len(c.services) * (1 + int(c.flags is not None)) for c in fleet.cells)
    for cell_id, env in containers:
        attributes = dict(pair.split("=", 1) for pair in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
        cell = fleet.cell(cell_id)
        assert attributes[CELL_TELEMETRY["cell_id"].resource_attribute] == cell_id
        assert attributes[CELL_TELEMETRY["tier"].resource_attribute] == cell.tier.value
        assert attributes[CELL_TELEMETRY["region"].resource_attribute] == cell.region
        assert attributes[CELL_TELEMETRY["service"].resource_attribute] == env["OTEL_SERVICE_NAME"]


def test_a_log_record_through_the_sdk_carries_cell_id(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    cell_id, env = next((c, e) for c, e in _containers(fleet) if c == "smb-eu-1" and "FLAGD_RESOLVER" in e)
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # as the kubelet sets the container's environment
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider(resource=Resource.create())  # reads OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("workload")
    logger.emit(body="payment declined", severity_number=SeverityNumber.WARN, severity_text="WARN",
                attributes={"account_id": "123"})
    provider.shutdown()
    (record,) = exporter.get_finished_logs()
    resource = dict(record.resource.attributes)
    assert resource["cell.id"] == cell_id
    assert resource["cell.tier"] == "smb" and resource["cloud.region"] == "eu-west-1"
    assert resource["service.name"] == env["OTEL_SERVICE_NAME"]
    assert record.log_record.body == "payment declined"


def test_a_cell_stack_tags_its_log_groups_and_creates_the_alarms(
        fleet: Fleet, stack_alarms: dict[str, tuple[str, str, str]]) -> None:
    cell = fleet.cell("enterprise-us-hipaa")
    new_event_loop()
    inventory = preview_cell(cell)
    assert alarm_names(inventory) == {name for name, (owner, _, _) in stack_alarms.items() if owner == cell.id}
    group = next(g for g in inventory.of_type("aws:cloudwatch/logGroup:LogGroup")
                 if g.inputs.get("name") == cell_log_group(cell.id))
    fields = {k: CELL_TELEMETRY[k].log_field for k in ("cell_id", "tier", "region")}
    assert {fields["cell_id"]: cell.id, fields["tier"]: cell.tier.value, fields["region"]: cell.region}.items() \
        <= group.inputs["tags"].items()
