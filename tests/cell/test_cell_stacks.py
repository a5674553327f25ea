"""`__main__.py`: the stack name selects the program; Pulumi.yaml is a valid project file."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import jsonschema
import pulumi
import pytest
from ruamel.yaml import YAML

from fleet import stacks
from fleet.inputs import load_fleet
from fleet.mocking import Inventory, run_program
from model.errors import InputErrors

REPO_ROOT = Path(__file__).resolve().parents[2]
MAIN = REPO_ROOT / "__main__.py"
SCHEMA = REPO_ROOT / "tests" / "schemas" / "pulumi-project.schema.json"


def run_main(stack: str, config: dict[str, str] | None = None) -> Inventory:
    def program() -> None:
        runpy.run_path(str(MAIN), run_name="__main__")

    return run_program(program, stack=stack, config=config)


def test_cell_stack_builds_that_cell() -> None:
    inventory = run_main("smb-eu-1")
    (component,) = inventory.of_type("cellfleet:index:Cell")
    assert component.name == "smb-eu-1"
    assert inventory.outputs["region"] == "eu-west-1"


def test_registry_table_comes_from_config() -> None:
    inventory = run_main("smb-us-2", {"cellfleet:registryTable": "acme-registry", "cellfleet:registryRegion": "eu-west-1"})
    (item,) = inventory.of_type("aws:dynamodb/tableItem:TableItem")
    assert item.inputs["tableName"] == "acme-registry"
    registry = next(r for r in inventory.of_type("pulumi:providers:aws") if r.name == "smb-us-2-registry")
    assert registry.inputs["region"] == "eu-west-1"


def test_release_from_config_is_what_every_service_runs() -> None:
    # The reference deployer runs `pulumi up --stack <cell> --config cellfleet:release=<version>`.
    inventory = run_main("smb-eu-1", {"cellfleet:release": "2.5.0"})
    images = [d.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
              for d in inventory.of_type("kubernetes:apps/v1:Deployment")]
    assert len(images) == 5
    assert all(image.endswith(":2.5.0") for image in images)
    (item,) = inventory.of_type("aws:dynamodb/tableItem:TableItem")
    assert {v["S"] for v in json.loads(item.inputs["item"])["releases"]["M"].values()} == {"2.5.0"}


def test_release_from_config_must_be_a_version() -> None:
    with pytest.raises(pulumi.RunError, match="cellfleet:release: 'latest' is not a semantic version"):
        run_main("smb-eu-1", {"cellfleet:release": "latest"})


def test_reserved_stack_runs_its_program_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(stacks.RESERVED, "control-plane", lambda inputs: pulumi.export("cells", len(inputs.fleet.cells)))
    inventory = run_main("control-plane")
    assert inventory.outputs == {"cells": len(load_fleet(REPO_ROOT).cells)}


def test_unknown_stack_lists_the_valid_ones() -> None:
    with pytest.raises(pulumi.RunError) as info:
        run_main("smb-mars-1")
    message = str(info.value)
    assert "unknown stack 'smb-mars-1'" in message
    for valid in ("landing-zone", "control-plane", "canary-us-internal", "enterprise-us-hipaa", "smb-us-1"):
        assert valid in message


def test_invalid_fleet_fails_with_input_lines(tmp_path: Path) -> None:
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / "solo.yaml").write_text("id: solo\ntier: smb\n", encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        stacks.run_stack("solo", tmp_path)
    assert "cells/solo.yaml:1: region: required key is missing" in [str(e) for e in info.value.errors]


def test_pulumi_yaml_validates_against_the_project_schema() -> None:
    project = YAML(typ="safe").load((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(project, schema)
    assert project["name"] == "cellfleet"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
