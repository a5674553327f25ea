"""SQL safety lint for migration scripts, on real parsers.

PostgreSQL scripts are parsed by pglast (libpg_query: the server's own grammar); MySQL
scripts by sqlglot's MySQL dialect. Outside the `contract` phase schema changes must be
additive. Each finding names a rule; a comment `-- fleet:allow <rule> <reason>` in or just
before the statement silences that rule for that statement, and nothing else does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlglot
from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType, ObjectType, TransactionStmtKind
from pglast.parser import ParseError
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError as GlotParseError
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

from migrations.planner import MigrationPlan
from model.cells import Engine
from model.errors import InputError
from model.manifest import Change, PhaseName

logging.getLogger("sqlglot").setLevel(logging.ERROR)

RULES: dict[str, str] = {
    "drop-column": "dropping a column outside `contract` breaks code that still reads it",
    "drop-table": "dropping a table outside `contract` breaks code that still reads it",
    "rename": "renaming outside `contract` breaks code that uses the old name",
    "type-change": "changing a column type rewrites the table under an exclusive lock",
    "set-not-null": "SET NOT NULL scans the table under an exclusive lock",
    "not-null-without-default": "adding a NOT NULL column without a default fails on existing rows",
    "volatile-default": "a volatile default rewrites the whole table",
    "blocking-index": "building or dropping an index without CONCURRENTLY blocks writes",
    "concurrently-in-transaction": "CONCURRENTLY cannot run inside a transaction block",
    "validating-constraint": "adding a validated constraint blocks writes while it scans",
    "destructive-outside-contract": "destructive statements belong in the `contract` phase",
    "unbatched-dml": "an UPDATE or DELETE of every row holds locks for the whole table",
    "table-rewrite": "VACUUM FULL and CLUSTER rewrite the table under an exclusive lock",
    "missing-lock-timeout": "DDL must run with a lock timeout set earlier in the script",
    "missing-statement-timeout": "DDL must run with a statement timeout set earlier in the script",
    "parse-error": "the parser does not understand the statement, so it cannot be proven safe",
    "unknown-rule": "a fleet:allow comment must name a known rule",
    "beyond-declared-change": "a contract may drop only the old columns its manifest's `change` declares",
    "empty-script": "a script with no statement does nothing; remove it or write the change",
}
ALLOW = re.compile(r"fleet:allow\s+([A-Za-z0-9_-]+)")
_VOLATILE = {"random", "gen_random_uuid", "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval"}


@dataclass(frozen=True)
class _Stmt:
    """One statement: its first line and the text from the previous statement's end (comments)."""

    line: int
    region: str
    node: Any
    sql: str = ""


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _skip_blank(text: str, pos: int) -> int:
    """Move past whitespace and comments to where the statement really starts."""
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end + 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos)
            pos = len(text) if end < 0 else end + 2
        else:
            break
    return pos


class _Report:
    """Findings of one script, with the allow comments of each statement applied."""

    def __init__(self, path: str, text: str, declared: frozenset[tuple[str, str]] | None = None) -> None:
        self.path = path
        self.text = text
        self.findings: list[InputError] = []
        self.declared = declared  # (table, old column) pairs a contract may drop; None: not checked

    def beyond(self, stmt: _Stmt, what: str) -> None:
        """In a contract: `what` destroys more than the declared change."""
        self.add(stmt, "beyond-declared-change", what)

    def drop_column(self, stmt: _Stmt, table: str, column: str) -> None:
        if self.declared is not None and (table, column) not in self.declared:
            self.beyond(stmt, f"DROP COLUMN {table}.{column} is not a declared old column")

    def add(self, stmt: _Stmt | None, rule: str, message: str, line: int | None = None) -> None:
        if stmt is not None and rule in {m.group(1) for m in ALLOW.finditer(stmt.region)}:
            return
        where = line if line is not None else (stmt.line if stmt else 1)
        self.findings.append(InputError(self.path, where, rule, f"{message} ({RULES[rule]})"))

    def unknown_allows(self) -> None:
        for match in ALLOW.finditer(self.text):
            if match.group(1) not in RULES:
                line = _line_at(self.text, match.start())
                self.findings.append(InputError(self.path, line, "unknown-rule", f"no rule named {match.group(1)!r}"))


class _Timeouts:
    """Tracks which timeouts a script has set before its first lock-taking statement."""

    def __init__(self, report: _Report, needed: dict[str, str]) -> None:
        self.report = report
        self.needed = needed  # setting name -> rule
        self.seen: set[str] = set()
        self.reported: set[str] = set()

    def set(self, name: str) -> None:
        self.seen.add(name.lower())

    def ddl(self, stmt: _Stmt) -> None:
        for name, rule in self.needed.items():
            if name not in self.seen and rule not in self.reported:
                self.reported.add(rule)
                self.report.add(stmt, rule, f"no `SET {name}` before this statement")


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_statements(text: str, report: _Report) -> list[_Stmt]:
    try:
        raws = parse_sql(text)
    except ParseError as exc:
        offset = int(exc.args[1]) if len(exc.args) > 1 else 0
        report.add(None, "parse-error", str(exc.args[0]), _line_at(text, offset))
        return []
    out = []
    prev_end = 0
    for raw in raws:
        location = int(raw.stmt_location or 0)
        start = _skip_blank(text, location)
        end = location + int(raw.stmt_len) if raw.stmt_len else len(text)
        out.append(_Stmt(_line_at(text, start), text[prev_end:end], raw.stmt, text[start:end]))
        prev_end = end
    return out


def _relname(node: Any) -> str:
    return str(getattr(node, "relname", "") or "")


def _pg_column_def(stmt: _Stmt, col: ast.ColumnDef, report: _Report) -> None:
    kinds = {c.contype for c in col.constraints or ()}
    if ConstrType.CONSTR_NOTNULL in kinds and ConstrType.CONSTR_DEFAULT not in kinds:
        report.add(stmt, "not-null-without-default", f"ADD COLUMN {col.colname} NOT NULL has no DEFAULT")
    if kinds & {ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE}:
        report.add(stmt, "blocking-index", f"ADD COLUMN {col.colname} with a UNIQUE or PRIMARY KEY builds an index")
    if ConstrType.CONSTR_FOREIGN in kinds:
        report.add(stmt, "validating-constraint", f"ADD COLUMN {col.colname} REFERENCES validates at once")
    for con in col.constraints or ():
        if con.contype is ConstrType.CONSTR_DEFAULT and _volatile(con.raw_expr):
            report.add(stmt, "volatile-default", f"ADD COLUMN {col.colname} has a volatile DEFAULT")


def _volatile(node: Any) -> bool:
    found = False

    def visit(value: Any) -> None:
        nonlocal found
        if isinstance(value, ast.FuncCall):
            name = str(getattr((value.funcname or ("",))[-1], "sval", ""))
            found = found or name.lower() in _VOLATILE
        if isinstance(value, ast.Node):
            for attr in value:
                visit(getattr(value, attr))
        elif isinstance(value, tuple | list):
            for item in value:
                visit(item)

    visit(node)
    return found


def _pg_alter(stmt: _Stmt, node: ast.AlterTableStmt, contract: bool, report: _Report) -> None:
    table = _relname(node.relation)
    for cmd in node.cmds or ():
        kind = cmd.subtype
        if kind is AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            _pg_column_def(stmt, cmd.def_, report)
        elif kind is AlterTableType.AT_DropColumn:
            if contract:
                report.drop_column(stmt, table, str(cmd.name))
            else:
                report.add(stmt, "drop-column", f"DROP COLUMN {table}.{cmd.name}")
        elif kind is AlterTableType.AT_AlterColumnType:
            report.add(stmt, "type-change", f"ALTER COLUMN {table}.{cmd.name} TYPE")
        elif kind is AlterTableType.AT_SetNotNull:
            report.add(stmt, "set-not-null", f"ALTER COLUMN {table}.{cmd.name} SET NOT NULL")
        elif kind is AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            con = cmd.def_
            if con.contype in {ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK} and not con.skip_validation:
                report.add(stmt, "validating-constraint", f"ADD CONSTRAINT on {table} without NOT VALID")
            if con.contype in {ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE} and not con.indexname:
                report.add(stmt, "blocking-index", f"ADD CONSTRAINT on {table} builds its index under lock "
                                                   "(build it CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX)")
        elif kind is AlterTableType.AT_DropConstraint and not contract:
            report.add(stmt, "destructive-outside-contract", f"DROP CONSTRAINT {cmd.name} on {table}")


class _PgState:
    def __init__(self) -> None:
        self.in_transaction = False
        self.created: set[str] = set()


def _pg_statement(stmt: _Stmt, contract: bool, state: _PgState, timeouts: _Timeouts, report: _Report) -> None:  # noqa: PLR0912 - one branch per statement kind
    node = stmt.node
    if isinstance(node, ast.VariableSetStmt) and node.name:
        timeouts.set(str(node.name))
        return
    if isinstance(node, ast.TransactionStmt):
        if node.kind in {TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START}:
            state.in_transaction = True
        elif node.kind in {TransactionStmtKind.TRANS_STMT_COMMIT, TransactionStmtKind.TRANS_STMT_ROLLBACK}:
            state.in_transaction = False
        return
    if isinstance(node, ast.CreateStmt):
        state.created.add(_relname(node.relation))
        return
    locking = (ast.AlterTableStmt, ast.IndexStmt, ast.DropStmt, ast.RenameStmt, ast.TruncateStmt,
               ast.VacuumStmt, ast.ClusterStmt)
    if isinstance(node, locking):
        timeouts.ddl(stmt)
    if isinstance(node, ast.AlterTableStmt):
        _pg_alter(stmt, node, contract, report)
    elif isinstance(node, ast.IndexStmt):
        table = _relname(node.relation)
        if not node.concurrent and table not in state.created:
            report.add(stmt, "blocking-index", f"CREATE INDEX on {table} without CONCURRENTLY")
        if node.concurrent and state.in_transaction:
            report.add(stmt, "concurrently-in-transaction", "CREATE INDEX CONCURRENTLY inside BEGIN ... COMMIT")
    elif isinstance(node, ast.RenameStmt) and not contract:
        report.add(stmt, "rename", f"RENAME of {_relname(node.relation) or node.subname}")
    elif isinstance(node, ast.DropStmt):
        _pg_drop(stmt, node, contract, state, report)
    elif isinstance(node, ast.TruncateStmt):
        if contract:
            report.beyond(stmt, "TRUNCATE")
        else:
            report.add(stmt, "destructive-outside-contract", "TRUNCATE")
    elif isinstance(node, ast.DeleteStmt | ast.UpdateStmt):
        verb = "DELETE" if isinstance(node, ast.DeleteStmt) else "UPDATE"
        if isinstance(node, ast.DeleteStmt):
            what = f"DELETE FROM {_relname(node.relation)}"  # noqa: S608 - a message, not a query
            if contract:
                report.beyond(stmt, what)
            else:
                report.add(stmt, "destructive-outside-contract", what)
        if node.whereClause is None:
            report.add(stmt, "unbatched-dml", f"{verb} of {_relname(node.relation)} has no WHERE")
    elif isinstance(node, ast.VacuumStmt) and any(o.defname == "full" for o in node.options or ()):
        report.add(stmt, "table-rewrite", "VACUUM FULL")
    elif isinstance(node, ast.ClusterStmt):
        report.add(stmt, "table-rewrite", "CLUSTER")


def _pg_drop(stmt: _Stmt, node: ast.DropStmt, contract: bool, state: _PgState, report: _Report) -> None:
    kind = node.removeType
    if kind is ObjectType.OBJECT_TABLE:
        if contract:
            report.beyond(stmt, "DROP TABLE")
        else:
            report.add(stmt, "drop-table", "DROP TABLE")
    elif kind is ObjectType.OBJECT_INDEX:
        if not contract:
            report.add(stmt, "destructive-outside-contract", "DROP INDEX")
        if not node.concurrent:
            report.add(stmt, "blocking-index", "DROP INDEX without CONCURRENTLY")
        elif state.in_transaction:
            report.add(stmt, "concurrently-in-transaction", "DROP INDEX CONCURRENTLY inside BEGIN ... COMMIT")
    elif not contract:
        report.add(stmt, "destructive-outside-contract", f"DROP {str(getattr(kind, 'name', kind)).removeprefix('OBJECT_')}")


def _lint_postgresql(report: _Report, contract: bool) -> int:
    timeouts = _Timeouts(report, {"lock_timeout": "missing-lock-timeout",
                                  "statement_timeout": "missing-statement-timeout"})
    state = _PgState()
    statements = _pg_statements(report.text, report)
    for stmt in statements:
        _pg_statement(stmt, contract, state, timeouts, report)
    return len(statements)


# --- MySQL ------------------------------------------------------------------------------------


def _mysql_statements(text: str, report: _Report) -> Iterator[_Stmt]:
    try:
        tokens = Dialect.get_or_raise("mysql").tokenize(text)
    except TokenError as exc:
        report.add(None, "parse-error", str(exc))
        return
    groups: list[list[Any]] = [[]]
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(token)
    prev_end = 0
    for group in groups:
        if not group:
            continue
        start, end = group[0].start, group[-1].end + 1
        sql = text[start:end]
        try:
            node = sqlglot.parse_one(sql, read="mysql")
        except GlotParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            line = _line_at(text, start) + int(first.get("line") or 1) - 1
            report.add(_Stmt(line, text[prev_end:end], None), "parse-error", str(first.get("description", exc)))
            prev_end = end
            continue
        yield _Stmt(_line_at(text, start), text[prev_end:end], node, sql)
        prev_end = end


def split_mysql(text: str) -> list[tuple[str, Any]]:
    """The statements of a MySQL script as (text without comments, sqlglot node or None)."""
    return [(stmt.sql, stmt.node) for stmt in _mysql_statements(text, _Report("<sql>", text))]


def _mysql_alter(stmt: _Stmt, node: exp.Alter, contract: bool, report: _Report) -> None:
    table = node.this.name if node.this is not None else "?"
    for action in node.args.get("actions") or ():
        if isinstance(action, exp.ColumnDef):
            kinds = [c.args.get("kind") for c in action.args.get("constraints") or ()]
            not_null = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds)
            if not_null and not any(isinstance(k, exp.DefaultColumnConstraint) for k in kinds):
                report.add(stmt, "not-null-without-default", f"ADD COLUMN {action.name} NOT NULL has no DEFAULT")
        elif isinstance(action, exp.Drop):
            kind = str(action.args.get("kind") or "").upper()
            dropped = [t.name for t in action.args.get("tables") or ()] or [action.name]
            if contract and kind in {"COLUMN", ""}:
                for name in dropped:
                    report.drop_column(stmt, table, name)
            elif not contract:
                rule = "drop-column" if kind in {"COLUMN", ""} else "destructive-outside-contract"
                report.add(stmt, rule, f"DROP {kind or 'COLUMN'} {table}.{', '.join(dropped)}")
        elif isinstance(action, exp.RenameColumn | exp.AlterRename) and not contract:
            report.add(stmt, "rename", f"RENAME in ALTER TABLE {table}")
        elif isinstance(action, exp.ModifyColumn | exp.AlterColumn):
            _mysql_modify(stmt, table, action, contract, report)


def _mysql_modify(stmt: _Stmt, table: str, action: exp.Expression, contract: bool, report: _Report) -> None:
    if isinstance(action, exp.AlterColumn):
        if action.args.get("dtype") is not None:
            report.add(stmt, "type-change", f"ALTER COLUMN {table}.{action.name} TYPE")
        return
    old = action.args.get("this")
    new_name = old.name if isinstance(old, exp.ColumnDef) else ""
    renamed = action.args.get("rename_from") or action.args.get("old")
    if renamed is not None and renamed.name != new_name and not contract:
        report.add(stmt, "rename", f"CHANGE COLUMN {renamed.name} TO {new_name}")
    report.add(stmt, "type-change", f"MODIFY/CHANGE COLUMN {table}.{new_name} redefines the column")


def _mysql_statement(stmt: _Stmt, contract: bool, timeouts: _Timeouts, report: _Report) -> None:  # noqa: PLR0912 - one branch per statement kind
    node = stmt.node
    if isinstance(node, exp.Set):
        for item in node.expressions:
            target = item.this.this if isinstance(item.this, exp.EQ) else item.this
            timeouts.set(target.name if isinstance(target, exp.Expression) else str(target))
        return
    if isinstance(node, exp.Alter | exp.Drop | exp.TruncateTable | exp.Command) or (
        isinstance(node, exp.Create) and str(node.args.get("kind") or "").upper() == "INDEX"
    ):
        timeouts.ddl(stmt)
    if isinstance(node, exp.Alter):
        _mysql_alter(stmt, node, contract, report)
    elif isinstance(node, exp.Command):
        word = str(node.this).upper()
        if word == "RENAME":
            if not contract:
                report.add(stmt, "rename", "RENAME TABLE")
        else:
            report.add(stmt, "parse-error", f"{word} statement not understood by the MySQL parser")
    elif isinstance(node, exp.Drop):
        kind = str(node.args.get("kind") or "").upper()
        if contract and kind in {"TABLE", "DATABASE", "SCHEMA"}:
            report.beyond(stmt, f"DROP {kind}")
        elif not contract:
            rule = "drop-table" if kind == "TABLE" else "destructive-outside-contract"
            report.add(stmt, rule, f"DROP {kind}")
    elif isinstance(node, exp.TruncateTable):
        if contract:
            report.beyond(stmt, "TRUNCATE")
        else:
            report.add(stmt, "destructive-outside-contract", "TRUNCATE")
    elif isinstance(node, exp.Delete | exp.Update):
        verb = "DELETE" if isinstance(node, exp.Delete) else "UPDATE"
        if isinstance(node, exp.Delete):
            if contract:
                report.beyond(stmt, "DELETE")
            else:
                report.add(stmt, "destructive-outside-contract", "DELETE")
        if node.args.get("where") is None:
            report.add(stmt, "unbatched-dml", f"{verb} has no WHERE")


def _lint_mysql(report: _Report, contract: bool) -> int:
    timeouts = _Timeouts(report, {"lock_wait_timeout": "missing-lock-timeout"})
    count = 0
    for stmt in _mysql_statements(report.text, report):
        _mysql_statement(stmt, contract, timeouts, report)
        count += 1
    return count


def lint_sql(text: str, engine: Engine, phase: PhaseName | str, path: str = "<sql>",
             change: Change | None = None) -> list[InputError]:
    """Every finding of one script for one engine, as run in `phase` (a contract checked against `change`)."""
    declared = frozenset((change.table, old) for old in change.columns) if change is not None else None
    report = _Report(path, text, declared)
    contract = PhaseName(phase) is PhaseName.CONTRACT
    lint = _lint_postgresql if engine is Engine.AURORA_POSTGRESQL else _lint_mysql
    if not lint(report, contract) and not report.findings:
        report.add(None, "empty-script", "no SQL statement in the script")
    report.unknown_allows()
    return sorted(set(report.findings))


def lint_plan(plan: MigrationPlan) -> list[InputError]:
    """Problems in every SQL script the plan runs, each linted for its engine and phase."""
    findings: list[InputError] = []
    for phase in plan.phases:
        for engine, path in phase.scripts.items():
            if path.endswith(".sql"):
                findings.extend(lint_sql(plan.texts[path], engine, phase.name, path, plan.migration.change))
    return sorted(set(findings))
