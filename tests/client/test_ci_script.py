"""The CI script of docs/CLI.md, run as written (bash, the installed ``attest``) against a live server and a
real worker: everything up to the gate succeeds (a new model is handed to validation on the first run), and
the gate, closed until the approval is signed, stops the deployment with exit code 1 and its reasons (about 25 s: the checks and the report run for real)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from registry.models import RegisteredModel
from tests.client.data import fair_applicants
from tests.conftest import ROOT
from tests.monitoring.factories import csv_bytes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def documented_script() -> str:
    text = (ROOT / "docs" / "CLI.md").read_text()
    section = text.split("## A complete CI script", 1)[1]
    script = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    # the package is installed here already; deploying is echoing
    script = script.replace("pip install --quiet ./clients/python", ": already installed")
    return script.replace('./deploy.sh "$VERSION"', 'echo "deployed $VERSION"')


def test_the_documented_ci_script_runs_up_to_a_closed_gate(cli_env, worker, credit_risk, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_bytes(csv_bytes(fair_applicants(seed=1)))
    (tmp_path / "data" / "valid.csv").write_bytes(csv_bytes(fair_applicants(seed=2)))
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "model.onnx").write_bytes(b"an opaque artifact for this test")
    env = {
        **os.environ,
        **cli_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CI_REPOSITORY_URL": "https://git.example.com/credit/pd-retail",
        "CI_COMMIT_SHA": "0123abcd",
        "CI_PIPELINE_ID": "42",
    }
    script = tmp_path / "ci.sh"
    script.write_text(documented_script())

    run = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )

    log = run.stdout + run.stderr
    assert "registered pd-retail:1" in run.stdout, log
    assert re.search(r"check \d+ performance succeeded (pass|warn)", run.stdout), log
    assert re.search(r"check \d+ drift succeeded (pass|warn)", run.stdout), log
    assert re.search(r"check \d+ data_quality succeeded (pass|warn)", run.stdout), log
    assert (tmp_path / "validation-report.pdf").read_bytes().startswith(b"%PDF")
    # the first run hands the new (draft) model to validation
    assert "registered pd-retail (tier 1, status draft)" in run.stdout, log
    assert "pd-retail is in_validation" in run.stdout, log
    assert RegisteredModel.objects.get(name="pd-retail").status == "in_validation"
    # the tier-1 policy's evidence documents are not there: the request is refused with each missing item
    assert "error: 409 prerequisites_missing" in run.stderr, log
    assert "  missing: evidence 'conceptual_soundness_memo'" in run.stderr, log
    assert "approval not requested yet" in run.stdout, log
    assert run.returncode == 1, log
    assert "gate closed for pd-retail:1 in production" in run.stdout, log
    assert "  reason: no completed approval of pd-retail v1 for production" in run.stdout, log
    assert "deployed" not in run.stdout, log
