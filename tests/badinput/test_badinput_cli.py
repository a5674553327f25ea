"""The CLI people expect: help on every option, --version, completion, JSON where CI wants it, who approved."""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from fleet.cli import app
from fleet.options import REPO_ROOT
from tests.badinput.corpus import copy_fleet

runner = CliRunner()
README = REPO_ROOT / "README.md"
# Options of `fleet migrate` (fleet/commands/migrate.py, the migrations engineer's) still without help; the lead
# empties this set when that branch lands. Nothing else may be missing.
MIGRATE_WITHOUT_HELP: set[str] = set()  # every option now has help


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """Every command of the app by its path (`gateway status`); typer builds on its own copy of click."""
    out = {prefix.strip(): group}
    for name, command in getattr(group, "commands", {}).items():
        out.update(_commands(command, f"{prefix} {name}"))
    return out


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option"]


COMMANDS = _commands(typer.main.get_command(app))


def test_every_option_has_help_text() -> None:
    missing = {
        f"{path} {param.opts[0]}".strip()
        for path, command in COMMANDS.items()
        for param in _options(command)
        if not (param.help or "").strip()
    }
    assert sum(len(_options(c)) for c in COMMANDS.values()) > 80  # the walk reached every command
    assert missing <= MIGRATE_WITHOUT_HELP, sorted(missing - MIGRATE_WITHOUT_HELP)


def test_every_format_option_is_a_choice_list() -> None:
    formats = {path: p for path, c in COMMANDS.items() for p in _options(c) if "--format" in p.opts}
    assert {"check", "preview", "diff", "plan", "gateway status", "gateway timeline", "migrate status"} <= set(formats)
    kinds = {path: p.type_descriptor.annotation for path, p in formats.items()}
    assert all(isinstance(k, type) and issubclass(k, Enum) for k in kinds.values()), kinds


def test_readme_lists_every_command_with_its_exit_codes() -> None:
    section = README.read_text(encoding="utf-8").split("## Commands and exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `fleet ([a-z -]+)` \|[^|]*\| ([0-9, ]+) \|", section, re.M)}
    leaves = {path for path, c in COMMANDS.items() if path and (not hasattr(c, "commands") or path == "gateway")}
    assert leaves <= set(rows), sorted(leaves - set(rows))
    assert "3" in rows["rollout watch"]


def test_version_and_completion() -> None:
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0
    assert re.fullmatch(r"fleet \(cellfleet\) \d+\.\d+\.\d+\n", version.stdout)
    shown = runner.invoke(app, ["--help"])
    assert "--install-completion" in shown.stdout and "--show-completion" in shown.stdout


def test_check_json_reports_counts_or_every_error(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["check", "--format", "json", "--root", str(REPO_ROOT)])
    assert ok.exit_code == 0, ok.output
    document = json.loads(ok.stdout)
    assert document["valid"] is True and document["cells"] == 14 and document["errors"] == []
    copy_fleet(tmp_path)
    with (tmp_path / "cells/smb-us-1.yaml").open("a", encoding="utf-8") as handle:
        handle.write("colour: blue\n")
    bad = runner.invoke(app, ["check", "--format", "json", "--root", str(tmp_path)])
    assert json.loads(bad.stdout) == {"valid": False, "errors": [
        {"path": "cells/smb-us-1.yaml", "line": 6, "field": "colour", "message": "unknown key"}]}


def test_gateway_status_and_timeline_as_json() -> None:
    status = runner.invoke(app, ["gateway", "status", "--format", "json", "--root", str(REPO_ROOT)])
    assert status.exit_code == 0, status.output
    versions = json.loads(status.stdout)["versions"]
    video_v2 = next(v for v in versions if v["service"] == "video" and v["version"] == "v2")
    assert video_v2["lagging"] == ["enterprise-us-hipaa"]
    timeline = runner.invoke(app, ["gateway", "timeline", "--at", "2025-07-01", "--format", "json", "--root", str(REPO_ROOT)])
    assert timeline.exit_code == 0, timeline.output
    routes = {r["path"]: r for r in json.loads(timeline.stdout)["routes"]}
    assert routes["/v0/Messages"]["sunset"] == "2025-06-01"


def test_gateway_summary_names_a_file_only_when_it_wrote_one(tmp_path: Path) -> None:
    args = ["gateway", "--target", "nginx", "--at", "2025-07-01", "--root", str(REPO_ROOT)]
    to_stdout = runner.invoke(app, args)
    assert to_stdout.exit_code == 0
    assert "->" not in to_stdout.stderr
    to_file = runner.invoke(app, [*args, "--out", str(tmp_path / "nginx.conf")])
    assert f"-> {tmp_path / 'nginx.conf'}" in to_file.stderr.replace("\n", "")


def test_preview_table_fits_the_terminal() -> None:
    result = runner.invoke(app, ["preview", "canary-us-internal", "--root", str(REPO_ROOT)], env={"COLUMNS": "90"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 90
