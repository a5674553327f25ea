"""Random mutations of valid inputs (types, values, deletions, duplications): `fleet check` exits 0 or 1, never crashes.

Each example copies the sample fleet, mutates one input file's data at a random location and
runs `fleet check` in-process: an InputErrors (exit 1) or success (exit 0) are the only outcomes.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fleet.cli import app
from model.errors import InputErrors
from tests.badinput.corpus import copy_fleet

FILES = ("cells/smb-us-1.yaml", "cells/enterprise-us-hipaa.yaml", "cells/_defaults.yaml", "pipelines/rollout.yaml",
         "landing_zone/api-gateway-config.yaml", "migrations/2025-01-15-recipient-id-column/manifest.yaml")
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=False),
                    st.text(max_size=300), st.sampled_from(["0s", "99999999999w", "aws:x", "v1", "2.5.0", "10.0.0.0/8",
                                                            "2025-02-30", "../../etc/passwd", "*", "&a"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=3)),
                      max_leaves=6)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(_paths(value, (*prefix, i)))
    return out


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value if how == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "duplicate" and isinstance(parent, list):
        parent.insert(last, parent[last])
    elif how == "duplicate":
        parent[f"{last}-copy"] = parent[last]
    elif how == "stringify":
        parent[last] = str(parent[last])
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=st.sampled_from(FILES), pick=st.integers(0, 10**6),
       how=st.sampled_from(["replace", "delete", "duplicate", "stringify"]), value=VALUES)
def test_mutated_inputs_exit_0_or_1(file: str, pick: int, how: str, value: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_fleet(Path(tmp))
        data = yaml.safe_load((root / file).read_text(encoding="utf-8"))
        paths = _paths(data)
        mutated = _mutate(data, paths[pick % len(paths)], how, value)
        (root / file).write_text(yaml.safe_dump(mutated, allow_unicode=True), encoding="utf-8")
        started = time.monotonic()
        result = CliRunner().invoke(app, ["check", "--root", str(root)])
        assert time.monotonic() - started < 10
    if isinstance(result.exception, InputErrors):
        assert all(str(e).count(":") >= 3 for e in result.exception.errors)
        return
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0, result.output
