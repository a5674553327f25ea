"""Generated definitions: asl-validator (npm) accepts them; the builder rejects broken graphs; size ~ waves."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fleet.inputs import load_fleet
from fleet.options import REPO_ROOT
from model.jsonio import dumps
from pipelines.asl import AslError, Catch, Choice, ChoiceRule, Fail, Graph, Map, Pass, Succeed, Task
from pipelines.definitions import definitions
from pipelines.targets import Targets
from tests.support.fleets import wave_plan
from tests.support.synthetic import synthetic_fleet, synthetic_plan

VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"


def validate(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    if not VALIDATOR.exists() and shutil.which("npx") is None:
        pytest.fail("asl-validator is not installed: run `npm ci` (scripts/setup does)")
    command = [str(VALIDATOR)] if VALIDATOR.exists() else ["npx", "--no-install", "asl-validator"]
    for path in paths:
        command += ["--json-path", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO_ROOT)


def write(tmp_path: Path, docs: dict[str, dict[str, object]], tag: str) -> list[Path]:
    paths = []
    for kind, doc in docs.items():
        path = tmp_path / f"{tag}-{kind}.json"
        path.write_text(dumps(doc), encoding="utf-8")
        paths.append(path)
    return paths


def test_every_generated_definition_passes_asl_validator(tmp_path: Path) -> None:
    paths = write(tmp_path, definitions(wave_plan(REPO_ROOT), Targets()), "sample")
    for size in (10, 1000):
        plan = synthetic_plan(synthetic_fleet(size))
        paths += write(tmp_path, definitions(plan, Targets(region="eu-west-1", account="210987654321")), f"n{size}")
    result = validate(paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(paths)


def test_validator_rejects_a_broken_definition(tmp_path: Path) -> None:
    """The validator really checks: a Next to nowhere fails it."""
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}), encoding="utf-8")
    assert validate([broken]).returncode != 0


def test_definition_size_does_not_grow_with_cells() -> None:
    sizes, waves = {}, 0
    for n in (10, 10_000):
        plan = synthetic_plan(synthetic_fleet(n))
        sizes[n] = {k: len(json.dumps(v)) for k, v in definitions(plan, Targets()).items()}
        waves = len(plan.waves)
    assert {k: v for k, v in sizes[10].items() if k != "rollout"} == {
        k: v for k, v in sizes[10_000].items() if k != "rollout"}
    # The rollout compiles each wave's cell count (shown to the wave's approver): a few digits more, no cells.
    assert 0 <= sizes[10_000]["rollout"] - sizes[10]["rollout"] <= 4 * waves
    assert sum(sizes[10_000].values()) <= 128 * 1024


def test_no_cell_id_is_baked_into_a_definition() -> None:
    fleet = load_fleet(REPO_ROOT)
    text = json.dumps(definitions(wave_plan(REPO_ROOT), Targets()))
    assert not [c for c in fleet.ids if c in text]


def _graph(**states: object) -> Graph:
    graph = Graph(start_at="A")
    for name, state in states.items():
        graph.add(name, state)  # type: ignore[arg-type]
    return graph


@pytest.mark.parametrize(("graph", "message"), [
    (_graph(A=Pass(next="B")), "goes to unknown state 'B'"),
    (_graph(A=Pass()), "must either end or have a Next"),
    (_graph(A=Pass(end=True), B=Succeed()), "unreachable states: B"),
    (_graph(A=Pass(next="B"), B=Pass(next="A")), "never reach an end"),
    (_graph(A=Choice(choices=(ChoiceRule({"Variable": "$.x", "IsPresent": True}, "Z"),), default="A")),
     "unknown state 'Z'"),
    (_graph(A=Task(resource="arn:aws:states:::sns:publish", catch=(Catch(("States.ALL",), "Nope"),), end=True)),
     "unknown state 'Nope'"),
    (_graph(A=Map(item_processor=_graph(A=Succeed()), end=True)), "duplicate state names: A"),
])
def test_builder_validates_the_graph(graph: Graph, message: str) -> None:
    with pytest.raises(AslError, match=message):
        graph.to_dict()


def test_builder_emits_pascal_case_and_null_result_path() -> None:
    from pipelines.asl import NULL

    graph = _graph(A=Task(resource="arn:aws:states:::sns:publish", result_path=NULL, timeout_seconds_path="$.t",
                          next="B"), B=Fail(error="E", cause="C"))
    out = graph.to_dict()
    assert out["States"]["A"] == {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "ResultPath": None,
                                  "TimeoutSecondsPath": "$.t", "Next": "B"}
    assert out["States"]["B"] == {"Type": "Fail", "Error": "E", "Cause": "C"}


def test_sample_pipeline_matches_golden_files() -> None:
    """Reviewable output: the sample fleet's definitions, policy and plan (UPDATE_GOLDEN=1 to accept)."""
    from pipelines.render import pipeline_files
    from tests.support.golden import assert_golden

    for relative, text in pipeline_files(wave_plan(REPO_ROOT), Targets()).items():
        assert_golden(relative, text)


def test_build_renders_the_pipeline() -> None:
    from datetime import date

    from fleet.build import render_documents
    from fleet.inputs import load_inputs

    result = render_documents(load_inputs(REPO_ROOT), date(2026, 6, 1))
    assert sorted(p for p in result.files if p.startswith("pipeline/")) == [f"pipeline/{n}" for n in (
        "batch.asl.json", "iam-policy.json", "plan.json", "plan.mmd", "rollout.asl.json", "wave.asl.json")]
    assert result.summary[0].startswith("pipeline: 4 waves, 14 cells")
