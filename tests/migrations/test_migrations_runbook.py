"""Runbooks: the sample as golden files; a 30-cell synthetic fleet ordered canary -> SMB -> enterprise."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from fleet.cli import app
from fleet.inputs import load_fleet
from migrations.runbook import render_runbook
from tests.support.fleets import migration_plan
from tests.support.golden import assert_golden

REPO = Path(__file__).resolve().parents[2]
MIGRATION = "2025-01-15-recipient-id-column"


def test_sample_runbook_golden() -> None:
    result = CliRunner().invoke(app, ["runbook", MIGRATION, "--at", "2025-01-15T10:00:00Z", "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    assert_golden(f"migrations/{MIGRATION}.md", result.stdout)


def test_sample_runbook_per_cell_golden() -> None:
    result = CliRunner().invoke(app, ["runbook", MIGRATION, "--cell", "smb-us-3", "--at", "2025-01-15T10:00:00Z",
                                      "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    assert_golden(f"migrations/{MIGRATION}.smb-us-3.md", result.stdout)
    assert "pt-online-schema-change" in result.stdout
    assert "psql" not in result.stdout.split("## Phase 1")[1]


def _cell(cid: str, tier: str, n: int, engine: str) -> str:
    extra = "maintenance_window: \"sun:03:00-sun:05:00\"\nnotification_channel: slack://x\n" if tier == "enterprise" else ""
    return (f"id: {cid}\ntier: {tier}\naccount: \"{100000000000 + n}\"\nregion: us-east-1\n"
            f"vpc_cidr: 10.{n}.0.0/16\navailability_zones: 2\nsize: small\n"
            f"database: {{engine: {engine}}}\n{extra}services:\n"
            + "".join(f"  {p}: {{release: 2.4.0, api_versions: [v1]}}\n" for p in ("sms", "voice", "video", "whatsapp", "email")))


def test_thirty_cell_fleet_orders_cells_and_shows_every_wait_and_approval(tmp_path: Path) -> None:
    cells = [("canary-a", "canary")] + [(f"smb-{r}-{i}", "smb") for r in ("us", "eu", "ap") for i in range(1, 9)]
    cells += [(f"enterprise-{i}", "enterprise") for i in range(1, 6)]
    assert len(cells) == 30
    (tmp_path / "cells").mkdir()
    for n, (cid, tier) in enumerate(cells):
        engine = "aurora-mysql" if n % 4 == 3 else "aurora-postgresql"
        (tmp_path / "cells" / f"{cid}.yaml").write_text(_cell(cid, tier, n, engine))
    policy = (REPO / "pipelines" / "rollout.yaml").read_text()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "rollout.yaml").write_text(
        policy.replace("      cells: [enterprise-us-hipaa, enterprise-eu-standard, enterprise-*]\n", ""))
    mid = "2025-03-01-sender-id"
    folder = tmp_path / "migrations" / mid
    folder.mkdir(parents=True)
    for name in ("expand", "contract"):
        src = REPO / "migrations" / MIGRATION
        for eng in ("postgresql", "mysql"):
            (folder / f"{name}.{eng}.sql").write_text((src / f"{name}.{eng}.sql").read_text())
    (folder / "backfill.py").write_text("print('backfill')\n")

    def scripts(n: str) -> str:
        return (f"        aurora-postgresql: migrations/{mid}/{n}.postgresql.sql\n"
                f"        aurora-mysql: migrations/{mid}/{n}.mysql.sql\n")

    (folder / "manifest.yaml").write_text(
        f"migration:\n  id: {mid}\n  description: from_phone -> sender_id\n"
        "  change: {table: messages, columns: {to_phone: recipient_id}}\n  phases:\n"
        f"    - name: expand\n      type: schema\n      script:\n{scripts('expand')}      rollout:\n"
        "        - {cells: [canary-*], wait: 1h}\n        - {cells: [smb-us-*], wait: 4h}\n"
        "        - {cells: [smb-*], wait: 24h}\n        - {cells: [enterprise-*], wait: 48h, requires_approval: true}\n"
        "    - {name: migrate-code, type: deployment, version: v3.1.0, rollout: standard}\n"
        f"    - {{name: backfill, type: data, script: migrations/{mid}/backfill.py, parallel_cells: 4}}\n"
        "    - {name: migrate-code-readonly, type: deployment, version: v3.2.0, rollout: standard}\n"
        f"    - name: contract\n      type: schema\n      script:\n{scripts('contract')}      rollout:\n"
        "        - {cells: [canary-*], wait: 24h}\n        - {cells: [smb-*], wait: 48h}\n"
        "        - {cells: [enterprise-*], wait: 1w, requires_approval: true}\n")
    fleet = load_fleet(tmp_path)
    plan = migration_plan(tmp_path, mid)
    text = render_runbook(plan, start=datetime(2025, 3, 1, 9, tzinfo=UTC))
    tiers = {c.id: c.tier.value for c in fleet.cells}
    rank = {"canary": 0, "smb": 1, "enterprise": 2}
    for phase in plan.phases:
        assert sorted(phase.cells) == sorted(fleet.ids)  # every cell exactly once
        order = [rank[tiers[c]] for c in phase.cells]
        assert order == sorted(order), phase.name
    rows = re.findall(r"^\| \d+ \| ([a-z-]+) \| ([^|]+) \| ([^|]+) \| [^|]+ \| ([^|]+) \| [^|]+ \| [^|]+ \| ([^|]+) \|$",
                      text, re.MULTILINE)
    steps = [(p, s) for p in plan.phases for s in p.steps]
    assert len(rows) == len(steps)
    for (phase, step), (name, label, _cells, approval, wait) in zip(steps, rows, strict=True):
        assert name == phase.name.value
        assert label.strip() == step.label
        assert ("required" in approval) == step.approval
        assert wait.strip() == ("—" if not step.wait else wait.strip())
        assert (wait.strip() != "—") == bool(step.wait)
    gantt = text.split("```mermaid")[1].split("```")[0]
    assert gantt.count(":milestone") == sum(s.approval for _p, s in steps)
    assert gantt.count("wait ") == sum(bool(s.wait) for _p, s in steps)
    assert text.count("**Approval required**") == sum(s.approval for _p, s in steps)
    assert text.count("then **wait") == sum(bool(s.wait) for _p, s in steps)
    assert sum(s.approval for _p, s in steps) == 2 + 2 * 5  # expand, contract, and each enterprise deploy
