"""SQL lint on the real parsers: unsafe snippets caught with the right rule, safe equivalents pass.

MySQL: no server here, so MySQL scripts are checked by the parser-based lint only.
"""

from __future__ import annotations

import pytest

from migrations.lint import lint_sql
from model.cells import Engine

PG = Engine.AURORA_POSTGRESQL
MY = Engine.AURORA_MYSQL
PG_T = "SET lock_timeout = '5s';\nSET statement_timeout = '15min';\n"
MY_T = "SET SESSION lock_wait_timeout = 5;\n"

# (rule, phase, unsafe, safe equivalent)
PG_CASES = [
    ("drop-column", "expand", "ALTER TABLE messages DROP COLUMN to_phone;", "ALTER TABLE messages ADD COLUMN r text;"),
    ("drop-table", "expand", "DROP TABLE messages_old;", "CREATE TABLE messages_new (id bigint);"),
    ("rename", "expand", "ALTER TABLE messages RENAME COLUMN to_phone TO recipient_id;",
     "ALTER TABLE messages ADD COLUMN recipient_id varchar(50);"),
    ("rename", "expand", "ALTER TABLE messages RENAME TO msgs;", "CREATE VIEW msgs AS SELECT * FROM messages;"),
    ("type-change", "expand", "ALTER TABLE messages ALTER COLUMN id TYPE bigint;",
     "ALTER TABLE messages ADD COLUMN id_big bigint;"),
    ("not-null-without-default", "expand", "ALTER TABLE messages ADD COLUMN r text NOT NULL;",
     "ALTER TABLE messages ADD COLUMN r text NOT NULL DEFAULT '';"),
    ("volatile-default", "expand", "ALTER TABLE messages ADD COLUMN u uuid DEFAULT gen_random_uuid();",
     "ALTER TABLE messages ADD COLUMN u uuid;"),
    ("blocking-index", "expand", "CREATE INDEX i ON messages (recipient_id);",
     "CREATE INDEX CONCURRENTLY i ON messages (recipient_id);"),
    ("blocking-index", "expand", "ALTER TABLE messages ADD CONSTRAINT u UNIQUE (recipient_id);",
     "ALTER TABLE messages ADD CONSTRAINT u UNIQUE USING INDEX i;"),
    ("blocking-index", "contract", "DROP INDEX i;", "DROP INDEX CONCURRENTLY i;"),
    ("concurrently-in-transaction", "expand", "BEGIN;\nCREATE INDEX CONCURRENTLY i ON messages (r);\nCOMMIT;",
     "CREATE INDEX CONCURRENTLY i ON messages (r);"),
    ("validating-constraint", "expand",
     "ALTER TABLE messages ADD CONSTRAINT fk FOREIGN KEY (account_id) REFERENCES accounts (id);",
     "ALTER TABLE messages ADD CONSTRAINT fk FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;"),
    ("validating-constraint", "expand", "ALTER TABLE messages ADD CONSTRAINT c CHECK (recipient_id IS NOT NULL);",
     "ALTER TABLE messages ADD CONSTRAINT c CHECK (recipient_id IS NOT NULL) NOT VALID;"),
    ("set-not-null", "contract", "ALTER TABLE messages ALTER COLUMN recipient_id SET NOT NULL;",
     "ALTER TABLE messages VALIDATE CONSTRAINT c;"),
    ("destructive-outside-contract", "expand", "TRUNCATE messages;", "SELECT 1;"),
    ("unbatched-dml", "expand", "UPDATE messages SET recipient_id = to_phone;",
     "UPDATE messages SET recipient_id = to_phone WHERE id BETWEEN 1 AND 10000;"),
    ("table-rewrite", "contract", "VACUUM FULL messages;", "VACUUM messages;"),
]

MY_CASES = [
    ("drop-column", "expand", "ALTER TABLE messages DROP COLUMN to_phone;",
     "ALTER TABLE messages ADD COLUMN recipient_id VARCHAR(50) NULL;"),
    ("rename", "expand", "ALTER TABLE messages RENAME COLUMN to_phone TO recipient_id;",
     "ALTER TABLE messages ADD COLUMN recipient_id VARCHAR(50);"),
    ("rename", "expand", "RENAME TABLE messages TO msgs;", "CREATE TABLE msgs (id BIGINT);"),
    ("type-change", "expand", "ALTER TABLE messages MODIFY COLUMN id BIGINT;",
     "ALTER TABLE messages ADD COLUMN id_big BIGINT;"),
    ("not-null-without-default", "expand", "ALTER TABLE messages ADD COLUMN r VARCHAR(50) NOT NULL;",
     "ALTER TABLE messages ADD COLUMN r VARCHAR(50) NOT NULL DEFAULT '';"),
    ("drop-table", "backfill", "DROP TABLE messages_old;", "CREATE TABLE messages_old2 (id BIGINT);"),
    ("destructive-outside-contract", "expand", "TRUNCATE TABLE messages;", "SELECT 1;"),
    ("unbatched-dml", "backfill", "UPDATE messages SET recipient_id = to_phone;",
     "UPDATE messages SET recipient_id = to_phone WHERE id <= 10000;"),
]


def _rules(text: str, engine: Engine, phase: str) -> list[str]:
    return [f.field for f in lint_sql(text, engine, phase, "x.sql")]


@pytest.mark.parametrize(("rule", "phase", "unsafe", "safe"), PG_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(PG_CASES)])
def test_postgresql(rule: str, phase: str, unsafe: str, safe: str) -> None:
    assert _rules(PG_T + unsafe, PG, phase) == [rule]
    assert _rules(PG_T + safe, PG, phase) == []


@pytest.mark.parametrize(("rule", "phase", "unsafe", "safe"), MY_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(MY_CASES)])
def test_mysql(rule: str, phase: str, unsafe: str, safe: str) -> None:
    assert rule in _rules(MY_T + unsafe, MY, phase)
    assert _rules(MY_T + safe, MY, phase) == []


def test_missing_timeouts_are_findings_at_the_first_ddl() -> None:
    text = "-- expand\nALTER TABLE messages ADD COLUMN r text;\n"
    findings = lint_sql(text, PG, "expand", "e.sql")
    assert [str(f).split(" (")[0] for f in findings] == [
        "e.sql:2: missing-lock-timeout: no `SET lock_timeout` before this statement",
        "e.sql:2: missing-statement-timeout: no `SET statement_timeout` before this statement",
    ]
    assert _rules("ALTER TABLE messages ADD COLUMN r VARCHAR(5);", MY, "expand") == ["missing-lock-timeout"]


def test_contract_may_drop_but_only_contract() -> None:
    drop = PG_T + "ALTER TABLE messages DROP COLUMN to_phone;"
    assert _rules(drop, PG, "contract") == []
    assert _rules(drop, PG, "backfill") == ["drop-column"]
    assert _rules(MY_T + "ALTER TABLE messages DROP COLUMN to_phone;", MY, "contract") == []


def test_only_a_comment_naming_the_rule_silences_it() -> None:
    unsafe = "ALTER TABLE messages DROP COLUMN to_phone;"
    assert _rules(PG_T + "-- fleet:allow drop-column old data is gone\n" + unsafe, PG, "expand") == []
    assert _rules(PG_T + "-- fleet:allow rename wrong rule\n" + unsafe, PG, "expand") == ["drop-column"]
    assert _rules(PG_T + "-- fleet:allow drop-column\nSELECT 1;\n" + unsafe, PG, "expand") == ["drop-column"]
    assert _rules(MY_T + "/* fleet:allow drop-column */ " + unsafe, MY, "expand") == []
    assert _rules(PG_T + "-- fleet:allow drop-colum typo\nSELECT 1;", PG, "expand") == ["unknown-rule"]


def test_parse_errors_have_lines() -> None:
    findings = lint_sql(PG_T + "ALTER TABLE messages ADD COLUMN;\n", PG, "expand", "bad.sql")
    assert [(f.line, f.field) for f in findings] == [(3, "parse-error")]


def test_enough_cases() -> None:
    assert len({c[2] for c in PG_CASES}) >= 12
    assert len({c[2] for c in MY_CASES}) >= 4
