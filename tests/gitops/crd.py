"""The vendored Argo CD CRDs as strict JSON Schemas: unknown fields refused wherever the CRD lists properties."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "argocd"
FILES = {"Application": "application-crd.yaml", "ApplicationSet": "applicationset-crd.yaml",
         "AppProject": "appproject-crd.yaml"}


def strict(schema: Any) -> Any:
    """A copy of an OpenAPI v3 schema with `additionalProperties: false` where it lists `properties`."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@cache
def validator(kind: str) -> Draft7Validator:
    """The strict validator of the served version (v1alpha1) of `kind`'s CRD."""
    with (SCHEMAS / FILES[kind]).open(encoding="utf-8") as handle:
        (crd,) = [d for d in yaml.load_all(handle, Loader=yaml.CSafeLoader) if d]
    assert crd["spec"]["names"]["kind"] == kind
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return Draft7Validator(strict(copy.deepcopy(version["schema"]["openAPIV3Schema"])))


def problems(document: dict[str, Any]) -> list[str]:
    """Every schema violation of one Argo CD object, as `path: message`."""
    errors = validator(document["kind"]).iter_errors(document)
    return sorted(f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors)
