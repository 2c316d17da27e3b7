"""Verification jobs whose worker was lost are failed, with their audit event, instead of running for ever."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from governance.models import AuditEvent, AuditVerification
from governance.services import audit as audit_services

pytestmark = pytest.mark.django_db
Status = AuditVerification.Status


def job(aaron, status: str, started_minutes_ago: float | None) -> AuditVerification:
    started = (
        None if started_minutes_ago is None else timezone.now() - dt.timedelta(minutes=started_minutes_ago)
    )
    return AuditVerification.objects.create(
        status=status, started_at=started, requested_by=aaron, requested_by_username="aaron"
    )


def test_it_fails_only_jobs_running_past_the_hard_time_limit(aaron):
    """GIVEN a job running longer than the task's hard time limit (plus the margin), one running for a
    minute, one queued long ago and one that succeeded long ago
    WHEN the reaper runs twice
    THEN only the first is failed (WorkerLost, finished, audited as a failed verification), once."""
    limit_minutes = settings.CELERY_TASK_TIME_LIMIT / 60
    lost = job(aaron, Status.RUNNING, started_minutes_ago=limit_minutes + 2)
    alive = job(aaron, Status.RUNNING, started_minutes_ago=1)
    queued = job(aaron, Status.QUEUED, started_minutes_ago=None)
    done = job(aaron, Status.SUCCEEDED, started_minutes_ago=limit_minutes + 60)

    assert audit_services.verifications_reap() == [lost.pk]
    assert audit_services.verifications_reap() == []

    statuses = dict(AuditVerification.objects.values_list("pk", "status"))
    assert statuses == {
        lost.pk: Status.FAILED,
        alive.pk: Status.RUNNING,
        queued.pk: Status.QUEUED,
        done.pk: Status.SUCCEEDED,
    }
    lost.refresh_from_db()
    assert lost.error.startswith("WorkerLost: ")
    assert "request a new verification" in lost.error
    assert lost.finished_at is not None
    [event] = AuditEvent.objects.filter(action="audit.verified")
    assert (event.object_id, event.after) == (str(lost.pk), {"error": lost.error})


def test_it_is_scheduled_through_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-reap-verifications"]

    assert (entry["task"], entry["schedule"]) == ("governance.tasks.reap_audit_verifications", 600.0)
