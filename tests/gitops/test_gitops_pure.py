"""The GitOps renderers are pure: no file, clock or environment access from gitops/ while rendering."""

from __future__ import annotations

import builtins
import datetime as dt
import os
import pathlib
import sys
from typing import Any, NoReturn

import pytest

from fleet.inputs import FleetInputs
from gitops.deployer import deployer_environment, deployer_policy
from gitops.status import fleet_status
from gitops.tree import gitops_files
from pipelines.targets import Targets

GITOPS = str(pathlib.Path(__file__).resolve().parents[2] / "gitops") + os.sep


class Impure(AssertionError):
    pass


def _guard(original: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_code.co_filename.startswith(GITOPS):
            raise Impure("a GitOps renderer touched a file, the clock or the environment")
        return original(*args, **kwargs)
    return guarded


class _Clock(dt.datetime):
    @classmethod
    def now(cls, tz: Any = None) -> NoReturn:
        raise Impure("clock")


def test_renderers_touch_no_file_clock_or_environment(sample_inputs: FleetInputs, monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, name in ((builtins, "open"), (pathlib.Path, "read_text"), (pathlib.Path, "write_text"),
                        (pathlib.Path, "open"), (os, "getenv"), (os.environ, "get")):
        monkeypatch.setattr(owner, name, _guard(getattr(owner, name)))
    monkeypatch.setattr(dt, "datetime", _Clock)
    files = gitops_files(sample_inputs.fleet, sample_inputs.plan)
    assert files == gitops_files(sample_inputs.fleet, sample_inputs.plan)
    deployer_policy(Targets(), "arn:aws:secretsmanager:us-east-1:1:secret:t", "arn:aws:logs:us-east-1:1:log-group:l")
    deployer_environment("https://argocd.example.com", "arn:aws:secretsmanager:us-east-1:1:secret:t", 600)
    import yaml

    apps = [yaml.safe_load(t) for p, t in files.items() if p.startswith("argocd/applications/")]
    assert len(fleet_status(apps)) == len(sample_inputs.fleet.cells)
    # the guard works: a call from gitops/ is refused
    code = compile("open('/dev/null')", GITOPS + "probe.py", "exec")
    with pytest.raises(Impure):
        exec(code, {"open": builtins.open})
