"""A verification requested through the API runs on a real Celery worker and reports progress."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit import checkpoints, keys
from audit.models import AuditEvent, AuditVerification
from tests.audit.conftest import tamper, write_events
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]


@pytest.fixture
def audit_worker_env(worker_env, audit_files):
    """The worker signs and verifies with this test's key and export folder."""
    worker_env["ATTEST_AUDIT_SIGNING_KEY"] = str(audit_files.ATTEST_AUDIT_SIGNING_KEY)
    worker_env["ATTEST_AUDIT_EXPORT_DIR"] = str(audit_files.ATTEST_AUDIT_EXPORT_DIR)
    return worker_env


def _finished(job_id: int):
    job = AuditVerification.objects.get(pk=job_id)
    return job if job.status in {"succeeded", "failed"} else None


def test_it_verifies_the_chain_in_the_background(audit_worker_env, celery_worker, api, aaron):
    """GIVEN a committed chain with an exported checkpoint
    WHEN an auditor POSTs /api/v1/audit/verifications/
    THEN a worker verifies it, the job shows full progress and an intact verdict, and the run is audited."""
    keys.generate(keys.signing_key_path())
    write_events(30)
    checkpoints.create()  # outside a transaction: exported at once
    response = api.as_user(aaron).post(reverse("api:audit-verification-list"), {}, format="json")
    assert response.status_code == 202
    job = wait_for(lambda: _finished(response.json()["id"]), timeout=120, message="the verification job")
    assert (job.status, job.intact) == ("succeeded", True), job.error
    body = api.get(reverse("api:audit-verification-detail", args=[job.pk])).json()
    assert body["progress"]["percent"] == 100.0
    assert body["result"]["exported_checkpoints_checked"] == 1
    verified = AuditEvent.objects.get(action="audit.verified")
    assert (verified.auth_method, verified.actor_username) == ("task", "aaron")
    assert verified.request_id == response["X-Request-ID"]  # traced back to the request


def test_it_reports_tampering_found_in_the_background(audit_worker_env, celery_worker, api, rita):
    keys.generate(keys.signing_key_path())
    write_events(10)
    tamper("UPDATE governance_auditevent SET reason = 'edited' WHERE seq = 4")
    response = api.as_user(rita).post(reverse("api:audit-verification-list"), {}, format="json")
    job = wait_for(lambda: _finished(response.json()["id"]), timeout=120, message="the verification job")
    assert (job.status, job.intact) == ("succeeded", False)
    assert job.result["first_bad_seq"] == 4
    assert job.result["problems"][0]["code"] == "columns_disagree"
