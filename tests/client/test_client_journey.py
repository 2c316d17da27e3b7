"""clients/python/examples/ml_team_journey.py, the Python client's documented path, run in its own process
against a live server and a real worker: a first run takes a new model as far as a pending approval and a
closed gate; a second, started as `make run` starts it, finds everything it made and requests nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from config import devstack
from registry.models import ModelVersion, RegisteredModel
from reports.models import Report
from tests.conftest import ROOT
from tests.factories import PASSWORD
from workflow.models import ApprovalRequest

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCRIPT = ROOT / "clients" / "python" / "examples" / "ml_team_journey.py"


def journey(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_client_journey_ends_at_a_closed_gate_and_runs_again_without_repeating_itself(
    cli_env, worker, credit_risk, maya, tmp_path, capsys
):
    first = journey(cli_env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "registered pd-client-journey (tier 3)" in first.stdout
    assert "pd-client-journey is in_validation" in first.stdout
    assert " performance succeeded pass" in first.stdout
    assert "gate closed for pd-client-journey:1 in production" in first.stdout
    assert "  reason: no completed approval of pd-client-journey v1 for production" in first.stdout
    assert RegisteredModel.objects.get(name="pd-client-journey").status == "in_validation"
    approval = ApprovalRequest.objects.get(model_version__model__name="pd-client-journey")
    assert approval.status == "pending"
    assert f"approval {approval.pk} requested (stage validation)" in first.stdout
    assert Report.objects.get().status == "succeeded"

    # as `make run` starts it once the demo server answers (config.devstack): signed in with maya's password
    # (hashed as the server's settings hash it, not with the tests' fast hasher); the same bytes find the
    # same versions, and the pending request is kept
    hasher = PBKDF2PasswordHasher()
    maya.password = hasher.encode(PASSWORD, hasher.salt())
    maya.save(update_fields=["password"])
    second = devstack.ClientJourney(cli_env["ATTEST_URL"], PASSWORD)
    second.log_path = tmp_path / "client-journey.log"

    assert second.run() == 0, second.log_path.read_text()
    log = second.log_path.read_text()
    assert "registered" not in log
    assert "version pd-client-journey:1 " in log
    assert f"approval {approval.pk} pending (requested before)" in log
    assert "client journey done" in capsys.readouterr().out
    assert ModelVersion.objects.filter(model__name="pd-client-journey").count() == 1
    assert ApprovalRequest.objects.get() == approval


def test_the_client_journey_exits_2_with_the_apis_message(cli_env, credit_risk):
    result = journey({**cli_env, "ATTEST_TOKEN": "not-a-token"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: 401 ")


def test_make_run_logs_a_journey_it_could_not_make_and_goes_on(tmp_path, capsys):
    journey = devstack.ClientJourney("http://127.0.0.1:9", "any", ready_timeout=0)  # nothing listens there
    journey.log_path = tmp_path / "client-journey.log"
    assert journey.run() is None
    assert "client journey skipped: http://127.0.0.1:9 did not answer" in capsys.readouterr().out
    assert not journey.log_path.exists()


def test_a_journey_stopped_with_the_demo_is_logged_as_stopped_not_failed():
    journey = devstack.ClientJourney("http://127.0.0.1:9", "any", ready_timeout=0)
    journey.process = subprocess.Popen(["sleep", "30"])  # a journey still running when the demo stops

    journey.stop()

    code = journey.process.wait(timeout=10)
    assert code < 0  # ended by the signal
    assert journey._outcome(code) == "stopped with the demo"
    # the demo's process group killed (CI stopping `make run`): the signal reaches the journey directly
    untouched = devstack.ClientJourney("http://127.0.0.1:9", "any")
    assert untouched._outcome(-signal.SIGTERM) == "stopped with the demo"
    assert untouched._outcome(2) == "failed (exit 2)"
    assert untouched._outcome(-signal.SIGKILL) == "failed (exit -9)"
