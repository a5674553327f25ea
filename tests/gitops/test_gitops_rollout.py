"""A whole rollout of the sample fleet by the generated Step Functions machines (moto's execution mode),
with the Argo CD deployer answering every CellDeployRequested against the stand-in for Argo CD
(argocd_server.py; Argo CD cannot run here): the deployer is a drop-in for the CodeBuild one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from fleet.inputs import FleetInputs
from gitops.applications import cell_application
from gitops.deployer import deployer_environment
from gitops.settings import GitOpsSettings
from model.contract import argocd_application
from pipelines.inputs import rollout_input
from runtime import argocd_deployer
from tests.gitops.argocd_server import FakeArgoCd, serve
from tests.support import emulator as em

VERSION = "2.5.0"
TOKEN = "argocd-api-token-for-tests"
FAST = {"bake_seconds": 0, "health_check_interval_seconds": 1, "deploy_timeout_seconds": 30}


@pytest.fixture
def rollout_env(sample_inputs: FleetInputs, monkeypatch: pytest.MonkeyPatch) -> Iterator[em.Emulated]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    argocd_deployer._TOKEN.clear()
    with mock_aws(config=em.EXECUTE):
        em.speed_up()
        env = em.provision(sample_inputs.plan)
        em.register_cells(env, sample_inputs.fleet)
        em.create_alarms(env, list(sample_inputs.fleet.ids))
        yield env


@pytest.mark.slow
def test_a_rollout_through_argocd_moves_every_cell_in_wave_order(rollout_env: em.Emulated, sample_inputs: FleetInputs,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fleet, plan = sample_inputs.fleet, sample_inputs.plan
    fake = FakeArgoCd(token=TOKEN, namespace="argocd", applications={})
    for cell in fleet.cells:
        fake.add(cell_application(cell, plan, GitOpsSettings()))
    secret = boto3.client("secretsmanager").create_secret(Name="argocd-token", SecretString=TOKEN)["ARN"]
    answers: list[dict[str, Any]] = []

    def on_deploy(detail: dict[str, Any]) -> em.Answer:
        answers.append(argocd_deployer.handler({"detail-type": "CellDeployRequested", "detail": detail}))
        return None  # the deployer answered the task token itself

    with serve(fake) as url:
        for key, value in {**deployer_environment(url, secret, 10), "POLL_SECONDS": "0.05"}.items():
            monkeypatch.setenv(key, value)
        driver = em.Driver(rollout_env, on_deploy=on_deploy)
        result = driver.run(em.start(rollout_env, rollout_input(plan, VERSION, FAST)), timeout=120)
    assert result["status"] == "SUCCEEDED", result
    assert [a["cell_id"] for a in answers] == [d["cell_id"] for d in driver.requests("deploy")]
    assert sorted(a["cell_id"] for a in answers) == sorted(fleet.ids)
    assert all(a["answered"] and a["revision"] == f"release-{VERSION}" for a in answers)
    waves = [plan.wave_of(a["cell_id"]).index for a in answers]
    assert waves == sorted(waves)  # wave by wave, as the planner ordered them
    for cell_id in fleet.ids:
        app = fake.applications[argocd_application(cell_id)]
        assert app["spec"]["source"]["targetRevision"] == f"release-{VERSION}"
        assert app["status"]["health"]["status"] == "Healthy"
    state = em.rollout_state(rollout_env)
    assert {c: s["deployed_version"] for c, s in state.items()} == dict.fromkeys(fleet.ids, VERSION)
