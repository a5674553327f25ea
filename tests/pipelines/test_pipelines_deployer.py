"""The reference deployer's buildspec, run by real bash with real jq, sha256sum and tar.

CodeBuild cannot run here, so the test plays it: the build phase's commands run in order in
one bash shell and stop at the first failure (CodeBuild's `on-failure: CONTINUE` then goes
on to post_build with CODEBUILD_BUILD_SUCCEEDING=0, then post_build's `finally`). `aws`, `curl`, `pulumi` and `python3`
are stand-ins on PATH that record how they were called (no AWS, no network here); the
Pulumi archive `curl` "downloads" is a local tarball whose SHA-256 the buildspec checks.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pipelines.deployer import PulumiCli, buildspec

RECORDER = """#!/bin/bash
printf '%s\\n' "$(basename "$0") $(printf '%q ' "$@")" >> "$CALLS"
"""
ANSWER_RECORDER = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["ANSWERS"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""
CURL = """#!/bin/bash
while [ $# -gt 1 ]; do [ "$1" = -o ] && out="$2"; shift; done
cp "$ARCHIVE" "$out"
"""
PYTHON = """#!/bin/bash
mkdir -p .venv/bin && printf '#!/bin/bash\\ntrue\\n' > .venv/bin/pip && chmod +x .venv/bin/pip
"""


PARAMETER = "/cellfleet/deploy-tokens/r1/smb-us-1/deploy"  # where the hand-off Lambda kept the token


def _archive(path: Path) -> str:
    """A tarball laid out like Pulumi's (`pulumi/pulumi`), whose `pulumi` records its calls; its SHA-256."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        body = RECORDER.encode()
        info = tarfile.TarInfo("pulumi/pulumi")
        info.size, info.mode = len(body), 0o755
        tar.addfile(info, io.BytesIO(body))
    path.write_bytes(data.getvalue())
    return hashlib.sha256(data.getvalue()).hexdigest()


def run_build(tmp_path: Path, env: dict[str, str], cli: PulumiCli | None = None) -> tuple[list[list[str]], str]:
    """Play CodeBuild: build phase (stop at first failure), then post_build; (answers, recorded calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in {"aws": ANSWER_RECORDER, "curl": CURL, "python3": PYTHON}.items():
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    sha = _archive(tmp_path / "pulumi.tgz")
    spec = buildspec(cli or PulumiCli(sha256=sha))
    work = tmp_path / "src"
    work.mkdir(exist_ok=True)
    build = "\n".join(spec["phases"]["build"]["commands"])
    post = "\n".join(spec["phases"]["post_build"]["commands"])
    final = "\n".join(spec["phases"]["post_build"]["finally"])
    script = (f"bash -e -c {shlex.quote(build)}\n"
              "if [ $? -eq 0 ]; then CODEBUILD_BUILD_SUCCEEDING=1; else CODEBUILD_BUILD_SUCCEEDING=0; fi\n"
              f"{post}\n{final}\n")
    environ = {
        "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
        "CALLS": str(tmp_path / "calls"), "ANSWERS": str(tmp_path / "answers"), "ARCHIVE": str(tmp_path / "pulumi.tgz"),
        "CODEBUILD_BUILD_ID": 'cellfleet-cell-deployer:b"1', "TASK_TOKEN": "token-1", "TASK_TOKEN_PARAMETER": PARAMETER,
        "DEPLOY_ACTION": "deploy", "RELEASE": "2.5.0", "CELL_ID": "smb-us-1", **env,
    }
    subprocess.run(["bash", "-c", script], cwd=work, env=environ, check=True, timeout=30, capture_output=True)
    *answers, forget = [json.loads(line) for line in (tmp_path / "answers").read_text().splitlines()]
    assert forget == ["ssm", "delete-parameter", "--name", PARAMETER]  # after every answer, success or failure
    calls = (tmp_path / "calls").read_text() if (tmp_path / "calls").exists() else ""
    return answers, calls


def test_a_valid_request_deploys_and_answers_with_jq_built_json(tmp_path: Path) -> None:
    answers, calls = run_build(tmp_path, {})
    [answer] = answers
    assert answer[:4] == ["stepfunctions", "send-task-success", "--task-token", "token-1"]
    assert answer[4] == "--task-output"
    assert json.loads(answer[5]) == {"cell_id": "smb-us-1", "release": "2.5.0", "build": 'cellfleet-cell-deployer:b"1'}
    assert "pulumi up --yes --skip-preview --stack smb-us-1 --config cellfleet:release=2.5.0" in calls


@pytest.mark.parametrize(("env", "message"), [
    ({"CELL_ID": "control-plane"}, "reserved stack"),
    ({"CELL_ID": "landing-zone"}, "reserved stack"),
    ({"CELL_ID": "smb-us-1; touch pwned"}, "not a cell id"),
    ({"CELL_ID": "../prod"}, "not a cell id"),
    ({"RELEASE": '2.5.0"; touch pwned; "'}, "not a release"),
    ({"DEPLOY_ACTION": "destroy"}, "must be deploy or rollback"),
])
def test_a_refused_request_never_runs_pulumi_and_fails_the_task(tmp_path: Path, env: dict[str, str],
                                                               message: str) -> None:
    answers, calls = run_build(tmp_path, env)
    [answer] = answers
    assert answer[:4] == ["stepfunctions", "send-task-failure", "--task-token", "token-1"]
    assert "pulumi" not in calls and "curl" not in calls
    assert not (tmp_path / "src" / "pwned").exists()
    assert message  # the message goes to the build log (stderr), checked in the next test


def test_refusals_say_why(tmp_path: Path) -> None:
    spec = buildspec(PulumiCli(sha256="0" * 64))
    checks = "\n".join(spec["phases"]["build"]["commands"][:6])
    result = subprocess.run(["bash", "-c", f"set -e\n{checks}"], capture_output=True, text=True, check=False,
                            env={**os.environ, "CELL_ID": "control-plane", "RELEASE": "2.5.0", "DEPLOY_ACTION": "deploy"})
    assert result.returncode == 1
    assert result.stderr.strip() == "refused: control-plane is a reserved stack, not a cell"


def test_a_tampered_cli_archive_is_refused(tmp_path: Path) -> None:
    answers, calls = run_build(tmp_path, {}, PulumiCli(sha256="0" * 64))
    assert [a[1] for a in answers] == ["send-task-failure"]
    assert "pulumi" not in calls


def test_no_checksum_no_install(tmp_path: Path) -> None:
    answers, calls = run_build(tmp_path, {}, PulumiCli(sha256=None))
    assert [a[1] for a in answers] == ["send-task-failure"]
    assert "pulumi" not in calls
