"""Verification jobs whose worker was lost are queued again, then failed with their audit event, never
left running for ever (the job reaper's verification part)."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEvent, AuditVerification
from workflow.services import audit as audit_services

pytestmark = pytest.mark.django_db
Status = AuditVerification.Status


def job(aaron, status: str, *, lease_seconds: float | None, attempts: int = 1) -> AuditVerification:
    lease = None if lease_seconds is None else timezone.now() + dt.timedelta(seconds=lease_seconds)
    return AuditVerification.objects.create(
        status=status,
        started_at=timezone.now() if status == Status.RUNNING else None,
        claim_token="a" * 32 if status == Status.RUNNING else "",
        lease_expires_at=lease,
        attempts=attempts if status != Status.QUEUED else 0,
        requested_by=aaron,
        requested_by_username="aaron",
    )


def test_it_requeues_a_job_whose_lease_expired_and_fails_one_out_of_attempts(aaron, settings):
    """GIVEN a job whose lease expired on its first attempt, one whose lease expired on its last, one
    with a live lease, one queued just now and one that succeeded
    WHEN the reaper runs twice
    THEN the first is queued again, the second failed (WorkerLost, finished, audited), once; the others
    are left alone."""
    settings.ATTEST_JOB_MAX_ATTEMPTS = 3
    lost_once = job(aaron, Status.RUNNING, lease_seconds=-5, attempts=1)
    lost_last = job(aaron, Status.RUNNING, lease_seconds=-5, attempts=3)
    alive = job(aaron, Status.RUNNING, lease_seconds=60)
    queued = job(aaron, Status.QUEUED, lease_seconds=None)
    done = job(aaron, Status.SUCCEEDED, lease_seconds=None)

    assert audit_services.verifications_reap() == {"requeued": 1, "failed": 1, "resent": 0}
    assert audit_services.verifications_reap() == {"requeued": 0, "failed": 0, "resent": 0}

    statuses = dict(AuditVerification.objects.values_list("pk", "status"))
    assert statuses == {
        lost_once.pk: Status.QUEUED,
        lost_last.pk: Status.FAILED,
        alive.pk: Status.RUNNING,
        queued.pk: Status.QUEUED,
        done.pk: Status.SUCCEEDED,
    }
    lost_last.refresh_from_db()
    assert lost_last.error.startswith("WorkerLost: ")
    assert "Request a new verification" in lost_last.error
    assert lost_last.finished_at is not None
    [failed] = AuditEvent.objects.filter(action="audit_verification.failed")
    assert (failed.object_id, failed.after["error_type"]) == (str(lost_last.pk), "WorkerLost")
    [requeued] = AuditEvent.objects.filter(action="audit_verification.requeued")
    assert requeued.object_id == str(lost_once.pk)


def test_the_job_reaper_is_scheduled_through_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["jobs-reap"]

    assert (entry["task"], entry["schedule"]) == ("jobs.tasks.reap_jobs", 60.0)
