"""The fleet status page in a real browser (headless Chromium), against moto for the control plane's state."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from moto import mock_aws
from playwright.sync_api import Browser, Page
from typer.testing import CliRunner

from fleet.cli import app
from fleet.inputs import load_inputs
from fleet.stores import JsonStore
from migrations.state import CellPhase, MigrationState, Status
from model.contract import (
    CELL_KEY,
    DEFAULT_REGISTRY_TABLE,
    DEFAULT_ROLLOUT_TABLE,
    METRIC_NAMESPACE,
    argocd_application,
    cell_dashboard,
    error_rate_alarm,
)
from model.registry import cell_facts, to_item
from statuspage.assemble import fleet_status
from statuspage.model import CellState, FlagLine, Observed
from statuspage.render import status_files
from tests.support.golden import assert_golden
from tests.support.synthetic import synthetic_fleet, synthetic_plan

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "statuspage" / "status.schema.json").read_text())
AT = "2026-06-01T12:00:00Z"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
FAILED, ALARMING, MIGRATING = "smb-us-2", "smb-eu-1", "smb-us-1"


def fleet_root(dest: Path) -> Path:
    """A copy of the sample fleet's inputs, so migration state written by the test stays out of the repo."""
    for name in ("cells", "pipelines", "landing_zone", "migrations", "flags"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`fleet status --registry` on moto: one cell whose rollback failed, one alarming, one migrating at 42%."""
    root = fleet_root(tmp_path_factory.mktemp("fleet"))
    inputs = load_inputs(root)
    migration = inputs.migrations[0]
    state = MigrationState(migration.id)
    for cell in migration.cells:
        state = state.put(cell, "expand", CellPhase(Status.COMPLETE))
    state = state.put(MIGRATING, "migrate-code", CellPhase(Status.COMPLETE))
    state = state.put(MIGRATING, "backfill", CellPhase(Status.RUNNING, rows_done=42, rows_total=100))
    JsonStore(root).save(state)
    with mock_aws():
        region = "us-east-1"
        ddb = boto3.client("dynamodb", region_name=region)
        for table in (DEFAULT_REGISTRY_TABLE, DEFAULT_ROLLOUT_TABLE):
            ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": CELL_KEY, "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": CELL_KEY, "AttributeType": "S"}])
        for declared in inputs.fleet.cells:
            ddb.put_item(TableName=DEFAULT_REGISTRY_TABLE, Item=to_item(cell_facts(declared)))
        ddb.put_item(TableName=DEFAULT_ROLLOUT_TABLE, Item=to_item({
            CELL_KEY: FAILED, "status": "rollback_failed", "rollout_id": "v2-5-0", "target_version": "2.5.0",
            "previous_version": "2.4.0", "deployed_version": "2.5.0", "updated_at": "2026-06-01T11:00:00Z"}))
        cloudwatch = boto3.client("cloudwatch", region_name=region)
        cloudwatch.put_metric_alarm(AlarmName=error_rate_alarm(ALARMING), Namespace=METRIC_NAMESPACE,
                                    MetricName="ErrorRate", Statistic="Average", Period=60, EvaluationPeriods=1,
                                    Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
        cloudwatch.set_alarm_state(AlarmName=error_rate_alarm(ALARMING), StateValue="ALARM", StateReason="test")
        out = root / "site"
        result = CliRunner().invoke(app, ["status", "--root", str(root), "--at", AT, "--registry",
                                          DEFAULT_REGISTRY_TABLE, "--region", region, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return {"out": out, "document": json.loads((out / "status.json").read_text()), "fleet": inputs.fleet, "plan": inputs.plan}


def attributes(page: Page, selector: str, name: str) -> list[str]:
    """One attribute of every element matching `selector`, in document order (one round trip)."""
    return list(page.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute({name!r}))"))


@pytest.fixture
def page(browser: Browser, site: dict[str, Any]) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1400, "height": 900})
    opened.goto((site["out"] / "index.html").as_uri())
    yield opened
    opened.close()


def test_every_cell_appears_once_in_its_wave(page: Page, site: dict[str, Any]) -> None:
    assert sorted(attributes(page, "tr.cell", "data-cell")) == sorted(site["fleet"].ids)
    for wave in site["plan"].waves:
        assert attributes(page, f'details[data-wave="{wave.name}"] tr.cell', "data-cell") == list(wave.cells)
    assert attributes(page, "details.wave", "data-wave") == [w.name for w in site["plan"].waves]


def test_failed_and_alarming_cells_show_their_state_in_text(page: Page) -> None:
    failed = page.locator(f'tr[data-cell="{FAILED}"] td.state')
    assert "Major outage" in failed.inner_text()
    assert "rollback failed" in failed.inner_text()
    assert "Partial outage" in page.locator(f'tr[data-cell="{ALARMING}"] td.state').inner_text()
    flag = page.locator('tr.flag[data-flag="newVoiceCodec"]').inner_text()  # the sample flag, long past Day 7
    assert "stage 3/3" in flag and "100%" in flag
    assert page.locator("#banner").get_attribute("data-state") == "major_outage"
    assert "Major outage" in page.locator("#banner h1").inner_text()


def test_drift_from_the_target_release_is_highlighted(page: Page, site: dict[str, Any]) -> None:
    # smb-us-2 is recorded as deployed at 2.5.0 by the pipeline; the fleet declares 2.4.0 everywhere else
    document = site["document"]
    assert set(document["rollout"]["target"].values()) == {"2.4.0"}
    drifted = page.locator(f'tr[data-cell="{FAILED}"] td.drift')
    assert drifted.count() == len(document["services"])
    assert "2.5.0 (target 2.4.0)" in drifted.first.inner_text()
    assert page.locator(f'tr[data-cell="{ALARMING}"] td.drift').count() == 0


def test_running_migration_shows_its_percent_in_the_seed_form(page: Page) -> None:
    article = page.locator("article.migration")
    assert article.count() == 1
    text = article.inner_text()
    assert f"Current: Backfilling {MIGRATING} (42% of rows)" in text
    assert "% complete (" in text
    assert page.locator(f'tr[data-cell="{MIGRATING}"] td.state').inner_text().startswith("Under maintenance")


def test_screenshot_and_no_serious_accessibility_violation(page: Page, artefacts: Path) -> None:
    page.screenshot(path=str(artefacts / "status-page.png"), full_page=True)
    assert (artefacts / "status-page.png").stat().st_size > 10_000
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document)).violations"
                               ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    assert [v for v in violations if v["impact"] in {"serious", "critical"}] == []


def test_readable_without_javascript(browser: Browser, site: dict[str, Any]) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((site["out"] / "index.html").as_uri())
    assert page.locator("tr.cell:visible").count() == len(site["fleet"].ids)  # small fleet: every wave open
    assert "Major outage" in page.locator("#banner").inner_text()
    context.close()


def test_status_json_validates_and_agrees_with_the_page(page: Page, site: dict[str, Any]) -> None:
    document = site["document"]
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    for wave in document["waves"]:
        for cell in wave["cells"]:
            row = page.locator(f'details[data-wave="{wave["name"]}"] tr[data-cell="{cell["id"]}"]')
            assert row.get_attribute("data-state") == cell["state"]
            for service, release in cell["releases"].items():
                assert row.locator(f'td[data-service="{service}"]').inner_text().startswith(release)
            hrefs = attributes(page, f'tr[data-cell="{cell["id"]}"] a', "href")
            assert hrefs == [cell["links"]["dashboard"], cell["links"]["argocd"], *cell["links"]["runbooks"].values()]
            assert cell["links"]["argocd"].endswith(f"/applications/argocd/{argocd_application(cell['id'])}")
            assert cell["links"]["dashboard"].endswith(f"/dashboard/{cell_dashboard(cell['id'])}")
    assert page.locator("#current-wave").inner_text() == (document["rollout"]["current_wave"]
                                                         or "none: every cell is on the target release")


def test_sample_fleet_status_json_golden() -> None:
    inputs = load_inputs(REPO)
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    migrations = tuple((m, MigrationState(m.id)) for m in inputs.migrations)
    status = fleet_status(inputs.fleet, inputs.plan, at, migrations=migrations)
    assert_golden("status/status.json", status_files(status)["status.json"])
    assert status_files(status) == status_files(fleet_status(inputs.fleet, inputs.plan, at, migrations=migrations))


def test_next_enterprise_window_and_pending_approval() -> None:
    inputs = load_inputs(REPO)
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)  # a Monday
    newer = {c.id: c.with_release("2.5.0") for c in inputs.fleet.cells if not c.is_enterprise}
    from model.cells import Fleet

    fleet = Fleet(tuple(newer.get(c.id, c) for c in inputs.fleet.cells))
    status = fleet_status(fleet, inputs.plan, at)
    enterprise = next(w for w in inputs.plan.waves if w.policy.approval)
    assert status.rollout.current_wave == enterprise.name
    assert status.rollout.pending_approvals == (enterprise.cells[0],)
    window = status.rollout.next_window
    assert window is not None and window.opens > at and window.closes - window.opens >= timedelta(minutes=30)
    assert all(c.state is CellState.OPERATIONAL for w in status.waves for c in w.cells)


def test_flag_stage_shows_and_input_text_is_escaped(browser: Browser, tmp_path: Path) -> None:
    inputs = load_inputs(REPO)
    day3 = datetime(2026, 3, 4, 9, tzinfo=UTC)  # the seed's newVoiceCodec on Day 3: 25%
    status = fleet_status(inputs.fleet, inputs.plan, day3, flags=inputs.flags)
    hostile = FlagLine("<script>alert(1)</script>", "killed", "<b>x</b>", 0, "fleet", 0, "ready")
    files = status_files(replace(status, flags=(*status.flags, hostile)))
    assert "<script>alert(1)</script>" not in files["index.html"]
    (tmp_path / "index.html").write_text(files["index.html"])
    page = browser.new_page()
    page.goto((tmp_path / "index.html").as_uri())
    cells = page.locator('tr.flag[data-flag="newVoiceCodec"] td')
    assert [cells.nth(i).inner_text() for i in range(4)] == ["enabled", "stage 2/3 (day 3, 2026-03-04)", "25%", "fleet"]
    assert page.locator('tr.flag').nth(1).locator("th").inner_text() == "<script>alert(1)</script>"
    page.close()


def test_thousand_cells_collapse_healthy_waves_and_filter_by_id(browser: Browser, tmp_path: Path) -> None:
    fleet = synthetic_fleet(1000)
    plan = synthetic_plan(fleet)
    failing = plan.waves[1].cells[0]
    observed = Observed(
        read_at=datetime(2026, 6, 1, tzinfo=UTC), rollout={failing: {"status": "rollback_failed"}})
    status = fleet_status(fleet, plan, datetime(2026, 6, 1, tzinfo=UTC), observed)
    files = status_files(status)
    jsonschema.validate(json.loads(files["status.json"]), SCHEMA)
    (tmp_path / "index.html").write_text(files["index.html"])
    page = browser.new_page()
    page.goto((tmp_path / "index.html").as_uri())
    assert page.locator("tr.cell").count() == 1000
    assert attributes(page, "details.wave[open]", "data-wave") == [plan.waves[1].name]
    needle = failing[:-1]
    page.fill("#cell-filter", needle)
    expected = sorted(c for c in fleet.ids if needle in c)
    shown = page.eval_on_selector_all("tr.cell", "els => els.filter(e => e.offsetParent !== null).map(e => e.dataset.cell)")
    assert sorted(shown) == expected
    assert page.locator("#filter-count").inner_text() == f"{len(expected)} matching cells"
    page.close()


def test_terminal_view_and_json_on_stdout(site: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["status", "--at", AT, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["state"] == "operational"  # the repo's declared state: no alarms read
    text = CliRunner().invoke(app, ["status", "--at", AT, "--all"]).output
    for cell in site["fleet"].ids:
        assert cell in text


def test_bad_at_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["status", "--at", "yesterday"])
    assert result.exit_code == 2
    assert "--at" in result.output
