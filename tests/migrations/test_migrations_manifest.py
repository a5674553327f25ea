"""Bad manifests: each is refused with an exact `path:line: field: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.errors import InputErrors
from tests.support.fleets import migration_plan

SAMPLE = "2025-01-15-recipient-id-column"
M = f"migrations/{SAMPLE}/manifest.yaml"
D = f"migrations/{SAMPLE}"

BASE = f"""migration:
  id: "{SAMPLE}"
  description: "Rename to_phone → recipient_id"
  change:
    table: messages
    columns: {{to_phone: recipient_id}}
  phases:
    - name: expand
      type: schema
      script:
        aurora-postgresql: {D}/expand.postgresql.sql
        aurora-mysql: {D}/expand.mysql.sql
      rollout:
        - cells: [canary-*]
          wait: 1h
        - cells: [smb-*]
          wait: 24h
        - cells: [enterprise-*]
          wait: 48h
          requires_approval: true
    - name: migrate-code
      type: deployment
      version: "v2.5.0"
      rollout: standard
    - name: backfill
      type: data
      parallel_cells: 3
    - name: migrate-code-readonly
      type: deployment
      version: "v2.6.0"
      rollout: standard
    - name: contract
      type: schema
      script:
        aurora-postgresql: {D}/contract.postgresql.sql
        aurora-mysql: {D}/contract.mysql.sql
      rollout:
        - cells: [canary-*]
          wait: 24h
        - cells: [smb-*]
          wait: 48h
        - cells: [enterprise-*]
          wait: 168h
          requires_approval: true
"""

EXPAND = BASE[BASE.index("    - name: expand"):BASE.index("    - name: migrate-code\n")]
CODE = BASE[BASE.index("    - name: migrate-code\n"):BASE.index("    - name: backfill")]
BACKFILL = BASE[BASE.index("    - name: backfill"):BASE.index("    - name: migrate-code-readonly")]
READONLY = BASE[BASE.index("    - name: migrate-code-readonly"):BASE.index("    - name: contract")]
CONTRACT = BASE[BASE.index("    - name: contract"):]
HEAD = BASE[:BASE.index("    - name: expand")]


def _errors(root: Path, text: str) -> list[str]:
    (root / M).write_text(text, encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        migration_plan(root, SAMPLE)
    return [str(e) for e in info.value.errors]


CASES: list[tuple[str, str, list[str]]] = [
    ("not a mapping", "- just\n- a list\n", [f"{M}:1: (file): expected a mapping at the top level"]),
    ("missing migration key", "phases: []\n",
     [f"{M}:1: migration: required key is missing", f"{M}:1: phases: unknown key"]),
    ("id differs from folder", BASE.replace(f'id: "{SAMPLE}"', 'id: "2025-01-16-other"'),
     [f"{M}:2: migration.id: must equal the folder name '{SAMPLE}'"]),
    ("bad duration", BASE.replace("wait: 1h", "wait: soon", 1),
     [f"{M}:15: migration.phases[0].rollout[0].wait: 'soon' is not a duration like 30m, 4h or 2d"]),
    ("unknown engine in script", BASE.replace("aurora-mysql: " + D + "/expand", "oracle: " + D + "/expand"),
     [f"{M}:12: migration.phases[0].script.oracle: Input should be 'aurora-postgresql' or 'aurora-mysql'"]),
    ("expand not first", HEAD + CODE + EXPAND + BACKFILL + READONLY + CONTRACT,
     [f"{M}:8: migration.phases[0].name: the first phase must be 'expand'"]),
    ("backfill before dual-write code", HEAD + EXPAND + BACKFILL + CODE + READONLY + CONTRACT,
     [f"{M}:21: migration.phases[1].name: 'backfill' must come after 'migrate-code' "
      "(the code that writes both columns)"]),
    ("contract without read-only code", HEAD + EXPAND + CODE + BACKFILL + CONTRACT,
     [f"{M}:28: migration.phases[3].name: 'contract' must come after 'migrate-code-readonly' "
      "(the code that reads only the new column)"]),
    ("contract not last", HEAD + EXPAND + CODE + BACKFILL + CONTRACT + READONLY,
     [f"{M}:28: migration.phases[3].name: 'contract' must come after 'migrate-code-readonly' "
      "(the code that reads only the new column)",
      f"{M}:28: migration.phases[3].name: 'contract' must be the last phase"]),
    ("read-only code before backfill", HEAD + EXPAND + CODE + READONLY + BACKFILL + CONTRACT,
     [f"{M}:25: migration.phases[2].name: 'migrate-code-readonly' must come after 'backfill' (the backfill)"]),
    ("duplicate phase", HEAD + EXPAND + CODE + CODE + BACKFILL + READONLY + CONTRACT,
     [f"{M}:25: migration.phases[2].name: duplicate phase 'migrate-code'"]),
    ("wrong type for phase", BASE.replace("type: data", "type: schema"),
     [f"{M}:26: migration.phases[2].type: phase 'backfill' is a data phase, not schema"]),
    ("deployment without version", BASE.replace('      version: "v2.5.0"\n', ""),
     [f"{M}:21: migration.phases[1].version: a deployment phase needs `version`"]),
    ("deployment with a script", BASE.replace('version: "v2.5.0"', f'version: "v2.5.0"\n      script: {D}/x.sql'),
     [f"{M}:24: migration.phases[1].script: a deployment phase takes no `script`"]),
    ("selector matches nothing", BASE.replace("cells: [canary-*]", "cells: [canary-internal]", 1),
     [f"{M}:14: migration.phases[0].rollout[0].cells[0]: unknown cell 'canary-internal'",
      f"{M}:13: migration.phases[0].rollout: cells in no step: canary-us-internal"]),
    ("glob matches nothing", BASE.replace("cells: [smb-*]\n          wait: 24h", "cells: [smb-*, edge-*]\n          wait: 24h"),
     [f"{M}:16: migration.phases[0].rollout[1].cells[1]: 'edge-*' matches no cell"]),
    ("cell twice", BASE.replace("cells: [canary-*]\n          wait: 1h", "cells: [smb-us-1]\n          wait: 1h\n"
                                "        - cells: [canary-*, smb-us-1]\n          wait: 1h"),
     [f"{M}:16: migration.phases[0].rollout[1].cells[1]: cell 'smb-us-1' is already in step 1"]),
    ("step with nothing left", BASE.replace("cells: [enterprise-*]\n          wait: 48h",
                                            "cells: [enterprise-*]\n          wait: 48h\n"
                                            "        - cells: [smb-*]", 1),
     [f"{M}:20: migration.phases[0].rollout[3].cells: selects no cell that an earlier step has not taken"]),
    ("cells left out", BASE.replace("        - cells: [smb-*]\n          wait: 24h\n", "", 1),
     [f"{M}:13: migration.phases[0].rollout: cells in no step: smb-ap-1, smb-ap-2, smb-ap-3, smb-eu-1, "
      "smb-eu-2, smb-eu-3, smb-us-1, smb-us-2, smb-us-3, smb-us-4"]),
    ("missing script", BASE.replace("expand.postgresql.sql", "expand.pg.sql"),
     [f"{M}:11: migration.phases[0].script.aurora-postgresql: script '{D}/expand.pg.sql' does not exist"]),
    ("no script for an engine in use", BASE.replace(f"        aurora-mysql: {D}/contract.mysql.sql\n", ""),
     [f"{M}:34: migration.phases[4].script: no script for aurora-mysql, used by "
      "enterprise-eu-standard, smb-ap-2, smb-eu-2, smb-us-3"]),
    ("enterprise contract without approval", BASE[: BASE.rindex("          requires_approval: true")],
     [f"{M}:42: migration.phases[4].rollout[2].requires_approval: enterprise cells in a contract step need "
      "requires_approval: true (enterprise-ap-standard, enterprise-eu-standard, enterprise-us-hipaa)"]),
    ("checkpoint on a schema phase", BASE.replace("      rollout:\n        - cells: [canary-*]\n          wait: 1h",
                                                  "      checkpoint_interval: 5\n      rollout:\n"
                                                  "        - cells: [canary-*]\n          wait: 1h", 1),
     [f"{M}:13: migration.phases[0].checkpoint_interval: a schema phase takes no `checkpoint_interval`"]),
    ("unknown key", BASE.replace("      parallel_cells: 3", "      parallel: 3"),
     [f"{M}:27: migration.phases[2].parallel: unknown key"]),
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_manifest(fleet_root: Path, name: str, text: str, expected: list[str]) -> None:
    assert _errors(fleet_root, text) == sorted(expected)


def test_destructive_expand_script_is_refused_with_its_line(fleet_root: Path) -> None:
    script = fleet_root / D / "expand.postgresql.sql"
    script.write_text(script.read_text() + "ALTER TABLE messages DROP COLUMN to_phone;\n")
    errors = _errors(fleet_root, BASE)
    assert errors == [f"{D}/expand.postgresql.sql:10: drop-column: DROP COLUMN messages.to_phone "
                      "(dropping a column outside `contract` breaks code that still reads it)"]


def test_missing_manifest(fleet_root: Path) -> None:
    with pytest.raises(InputErrors) as info:
        migration_plan(fleet_root, "2025-02-01-nothing")
    assert [str(e) for e in info.value.errors] == [
        "migrations/2025-02-01-nothing/manifest.yaml:1: (file): no migration '2025-02-01-nothing': "
        "migrations/2025-02-01-nothing/manifest.yaml does not exist"]


def test_base_manifest_is_valid(fleet_root: Path) -> None:
    (fleet_root / M).write_text(BASE, encoding="utf-8")
    plan = migration_plan(fleet_root, SAMPLE)
    assert [s.label for s in plan.phase("expand").steps] == ["canary-*", "smb-*", "enterprise-*"]


def test_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15
