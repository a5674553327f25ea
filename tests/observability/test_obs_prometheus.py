"""Prometheus rules under promtool (check + unit tests), the Alertmanager config under amtool."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from model.contract import IssueType
from observability.alerts import ALERTS, DEPLOYING_ALERT
from observability.prometheus import DEPLOYING, DURATION, ERRORS, REQUESTS, alertmanager_yaml, rules_yaml
from observability.settings import ObservabilitySettings
from tests.support.golden import assert_golden
from tests.support.tools import system_command

ERROR_ALERT = ALERTS[IssueType.ERROR_RATE].prometheus_name
LATENCY_ALERT = ALERTS[IssueType.P99_LATENCY].prometheus_name


def _dump(document: Any, path: Path) -> Path:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, check=False)


def _series(cell: str, requests_per_min: int, errors_per_min: int) -> list[dict[str, str]]:
    labels = f'cell_id="{cell}",service="sms-service"'
    return [
        {"series": f"{REQUESTS}{{{labels}}}", "values": f"0+{requests_per_min}x20"},
        {"series": f"{ERRORS}{{{labels}}}", "values": f"0+{errors_per_min}x20"},
    ]


def _unit_tests(rules: Path, settings: ObservabilitySettings) -> dict[str, Any]:
    """Two cells, one failing 5 % of requests; one slow cell; one cell being deployed."""
    slow = 'cell_id="smb-us-2",service="sms-service"'
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                *_series("smb-us-1", 600, 30), *_series("smb-eu-1", 600, 0),
                # every request of smb-us-2 lands in the 1 s bucket: p99 ~ 1 s
                {"series": f'{DURATION}{{{slow},le="0.5"}}', "values": "0x20"},
                {"series": f'{DURATION}{{{slow},le="1"}}', "values": "0+100x20"},
                {"series": f'{DURATION}{{{slow},le="+Inf"}}', "values": "0+100x20"},
                {"series": f'{DEPLOYING}{{cell_id="smb-ap-1"}}', "values": "1x20"},
            ],
            "alert_rule_test": [
                {"eval_time": "2m", "alertname": ERROR_ALERT, "exp_alerts": []},  # not yet `for` 3m
                {"eval_time": "10m", "alertname": ERROR_ALERT, "exp_alerts": [{
                    "exp_labels": {"cell_id": "smb-us-1", "service": "sms-service", "severity": "page",
                                   "issue_type": "error-rate"},
                    "exp_annotations": {
                        "summary": "Error rate above threshold in cell smb-us-1 (sms-service)",
                        "description": f"{ALERTS[IssueType.ERROR_RATE].meaning}: 5.00 % (threshold 0.1 %).",
                        "runbook_url": f"{settings.runbook_base}/error-rate?cell_id=smb-us-1",
                    },
                }]},
                {"eval_time": "10m", "alertname": LATENCY_ALERT, "exp_alerts": [{
                    "exp_labels": {"cell_id": "smb-us-2", "service": "sms-service", "severity": "page",
                                   "issue_type": "p99-latency"},
                    "exp_annotations": {
                        "summary": "p99 latency above threshold in cell smb-us-2 (sms-service)",
                        "description": f"{ALERTS[IssueType.P99_LATENCY].meaning}: 995.00 ms (threshold 500 ms).",
                        "runbook_url": f"{settings.runbook_base}/p99-latency?cell_id=smb-us-2",
                    },
                }]},
                {"eval_time": "10m", "alertname": DEPLOYING_ALERT, "exp_alerts": [{
                    "exp_labels": {"cell_id": "smb-ap-1", "severity": "info"},
                    "exp_annotations": {"summary": "Cell smb-ap-1 is being deployed; its alerts are inhibited"},
                }]},
            ],
        }],
    }


def test_rules_pass_promtool_check_and_unit_tests(tmp_path: Path, settings: ObservabilitySettings) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(rules_yaml(settings), encoding="utf-8")
    promtool = system_command("promtool")
    checked = _run(promtool, "check", "rules", rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout
    tested = _run(promtool, "test", "rules", _dump(_unit_tests(rules, settings), tmp_path / "tests.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_unit_tests_can_fail(tmp_path: Path, settings: ObservabilitySettings) -> None:
    """The same unit tests expecting the healthy cell to alert fail: the passing run means something."""
    rules = tmp_path / "rules.yml"
    rules.write_text(rules_yaml(settings), encoding="utf-8")
    tests = _unit_tests(rules, settings)
    tests["tests"][0]["alert_rule_test"][1]["exp_alerts"][0]["exp_labels"]["cell_id"] = "smb-eu-1"
    tested = _run(system_command("promtool"), "test", "rules", _dump(tests, tmp_path / "tests.yml"))
    assert tested.returncode != 0


def test_alertmanager_config_passes_amtool(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_yaml("http://127.0.0.1:9/page"), encoding="utf-8")
    checked = _run(system_command("amtool"), "check-config", config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 inhibit rules" in checked.stdout


def test_rules_golden(settings: ObservabilitySettings) -> None:
    assert_golden("observability/prometheus-rules.yml", rules_yaml(settings))
