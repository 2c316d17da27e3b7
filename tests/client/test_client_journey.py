"""clients/python/examples/ml_team_journey.py, the Python client's documented path, run as `make run` runs it
(a separate process) against a live server and a real worker: a first run takes a new model as far as a
pending approval and a closed gate; a second finds everything it made and requests nothing twice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

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
    cli_env, worker, credit_risk, maya
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

    # a password instead of a token, as `make run` signs in (hashed as the server's settings hash it, not
    # with the tests' fast hasher); the same bytes find the same versions
    hasher = PBKDF2PasswordHasher()
    maya.password = hasher.encode(PASSWORD, hasher.salt())
    maya.save(update_fields=["password"])
    second = journey({"ATTEST_URL": cli_env["ATTEST_URL"], "ATTEST_TOKEN": ""}, "--username", "maya",
                     "--password", PASSWORD)  # fmt: skip

    assert second.returncode == 0, second.stdout + second.stderr
    assert "registered" not in second.stdout
    assert "version pd-client-journey:1 " in second.stdout
    assert f"approval {approval.pk} pending (requested before)" in second.stdout
    assert ModelVersion.objects.filter(model__name="pd-client-journey").count() == 1
    assert ApprovalRequest.objects.get() == approval


def test_the_client_journey_exits_2_with_the_apis_message(cli_env, credit_risk):
    result = journey({**cli_env, "ATTEST_TOKEN": "not-a-token"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: 401 ")
