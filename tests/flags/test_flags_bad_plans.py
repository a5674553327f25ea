"""Bad activation plans: one `path:line: field: message` per problem, from the loader and from the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet.flag_inputs import load_flags
from fleet.inputs import load_fleet
from model.errors import InputErrors
from tests.flags.flags_support import REPO

BASE = """flag:
  key: betaFlag
  description: A test flag
  variants:
    "on": true
    "off": false
  default: "off"
  release:
    voice: 2.4.0
  allowlist:
    - cust-a
  denylist:
    - cust-z
  start: 2026-03-02
  stages:
    - {day: 2, percent: 5}
    - {day: 3, percent: 25}
    - {day: 7, percent: 100}
"""
F = "flags/betaFlag.yaml"

# (edits as (old, new) pairs applied to BASE, the exact errors)
CASES: list[tuple[tuple[tuple[str, str], ...], list[str]]] = [
    ((("key: betaFlag", "key: otherFlag"),), [f"{F}:2: flag.key: must equal the file name 'betaFlag'"]),
    ((('default: "off"', 'default: "maybe"'),), [f"{F}:7: flag.default: unknown variant 'maybe'; variants: on, off"]),
    ((("{day: 2, percent: 5}", '{day: 2, weights: {"on": 5, "blue": 95}}'),),
     [f"{F}:16: flag.stages[0].weights.blue: unknown variant 'blue'"]),
    ((("{day: 2, percent: 5}", '{day: 2, weights: {"on": 5, "off": 90}}'),),
     [f"{F}:16: flag.stages[0].weights: weights sum to 95, not 100"]),
    ((("{day: 2, percent: 5}", '{day: 2, weights: {"on": 5.5, "off": 94.5}}'),),
     [f"{F}:16: flag.stages[0].weights.off: Input should be a valid integer",
      f"{F}:16: flag.stages[0].weights.on: Input should be a valid integer"]),
    ((("{day: 3, percent: 25}", "{day: 3, percent: 3}"),),
     [f"{F}:17: flag.stages[1].percent: 3% is less than the previous stage's 5%: stages only increase "
      "(turn the flag off with state: disabled)"]),
    ((("{day: 3, percent: 25}", "{day: 2, percent: 25}"),),
     [f"{F}:17: flag.stages[1].day: 2026-03-03 is not after the previous stage's 2026-03-03"]),
    ((("    - cust-a\n", "    - cust-a\n    - cust-b\n    - cust-a\n"),),
     [f"{F}:13: flag.allowlist[2]: 'cust-a' is listed twice"]),
    ((("    - cust-z\n", "    - cust-a\n"),), [f"{F}:13: flag.denylist[0]: 'cust-a' is also in the allowlist"]),
    ((("  start: 2026", "  bucketing_key: tier\n  start: 2026"),),
     [f"{F}:14: flag.bucketing_key: 'tier' is not a per-subject field of the evaluation context; one of: customer_id, cell_id"]),
    ((("  start: 2026", "  owner: me\n  start: 2026"),), [f"{F}:14: flag.owner: unknown key"]),
    ((("{day: 2, percent: 5}", "{day: 2, date: 2026-03-03, percent: 5}"),),
     [f"{F}:16: flag.stages[0]: give exactly one of day or date"]),
    ((("{day: 2, percent: 5}", "{day: 2}"),), [f"{F}:16: flag.stages[0]: give exactly one of percent or weights"]),
    ((("{day: 7, percent: 100}", "{day: 7, percent: 150}"),),
     [f"{F}:18: flag.stages[2].percent: Input should be less than or equal to 100"]),
    ((("voice: 2.4.0", "voice: latest"),), [f"{F}:9: flag.release.voice: 'latest' is not a semantic version like 2.5.0"]),
    ((("voice: 2.4.0", "fax: 2.4.0"),),
     [f"{F}:9: flag.release.fax: Input should be 'sms', 'voice', 'video', 'whatsapp' or 'email'"]),
    (((('"off": false', '"off": "no"')),), [f"{F}:4: flag.variants: variants must all be of one type, got bool, string"]),
    ((("    - cust-a\n", '    - "cust a"\n'),),
     [f"{F}:11: flag.allowlist[0]: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:@-]{{0,127}}$'"]),
    ((('  default: "off"\n', '  default: "off"\n  serve: "off"\n'),),
     [f"{F}:8: flag.serve: must differ from the default variant"]),
    ((("{day: 2, percent: 5}", "{date: 2026-03-01, percent: 5}"),),
     [f"{F}:16: flag.stages[0].date: 2026-03-01 is before the flag's start 2026-03-02"]),
    ((("{day: 2, percent: 5}", "{day: 2, percent: 5, scope: {cells: [nope-cell]}}"),),
     [f"{F}:16: flag.stages[0].scope.cells[0]: unknown cell 'nope-cell'"]),
    ((("{day: 3, percent: 25}", "{day: 3, percent: 25, scope: {cells: [smb-eu-1]}}"),),
     [f"{F}:17: flag.stages[1].scope: drops cells of the previous stage (scopes only widen): " + ", ".join(
         c for c in load_fleet(REPO).ids if c != "smb-eu-1")]),
    ((("  default:", "  scope: {tiers: [smb]}\n  default:"),
      ("{day: 2, percent: 5}", "{day: 2, percent: 5, scope: {tiers: [canary]}}")),
     [f"{F}:17: flag.stages[0].scope: cells outside the flag's scope (tier smb): canary-us-internal",
      f"{F}:18: flag.stages[1].scope: drops cells of the previous stage (scopes only widen): canary-us-internal"]),
    ((("  start: 2026-03-02\n", ""),), [f"{F}:1: flag.start: required key is missing"]),
    ((("  default:", "  state: paused\n  default:"),), [f"{F}:7: flag.state: Input should be 'enabled' or 'disabled'"]),
    ((("{day: 2, percent: 5}", "{day: 0, percent: 5}"),),
     [f"{F}:16: flag.stages[0].day: Input should be greater than or equal to 1"]),
    ((("    - cust-z\n", "    - &x cust-z\n    - *x\n"),),
     [f"{F}:13: (file): anchors and aliases are not allowed in fleet inputs"]),
    ((("  variants:\n", "  variants: [\n"),), [f"{F}:6: (file): invalid YAML: expected ',' or ']', but got ':'"]),
    ((('    "on": true\n', ""), ('default: "off"', 'default: "off"')),
     [f"{F}:4: flag.variants: Dictionary should have at least 2 items after validation, not 1"]),
]


def _write(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "fleet"
    (root / "flags").mkdir(parents=True)
    (root / "flags" / "betaFlag.yaml").write_text(text, encoding="utf-8")
    return root


def _edited(edits: tuple[tuple[str, str], ...]) -> str:
    text = BASE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_the_base_plan_is_valid(tmp_path: Path) -> None:
    (flag,) = load_flags(_write(tmp_path, BASE), load_fleet(REPO))
    assert flag.stage_lines == (16, 17, 18)


def test_at_least_fifteen_kinds_of_bad_plan() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize(("edits", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_bad_plan_is_rejected_with_path_and_line(tmp_path: Path, edits: tuple[tuple[str, str], ...], expected: list[str]) -> None:
    root = _write(tmp_path, _edited(edits))
    with pytest.raises(InputErrors) as caught:
        load_flags(root, load_fleet(REPO))
    assert [str(e) for e in caught.value.errors] == expected


def test_cli_reports_every_problem_and_exits_1_without_traceback(tmp_path: Path) -> None:
    root = _write(tmp_path, _edited((("key: betaFlag", "key: otherFlag"), ('default: "off"', 'default: "maybe"'))))
    (root / "cells").symlink_to(REPO / "cells")
    result = subprocess.run([sys.executable, "-m", "fleet", "flags", "render", "--root", str(root)],
                            capture_output=True, text=True, cwd=REPO, check=False, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{F}:2: flag.key: must equal the file name 'betaFlag'",
        f"{F}:7: flag.default: unknown variant 'maybe'; variants: on, off",
    ]
