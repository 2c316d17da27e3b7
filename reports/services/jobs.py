"""What report and bundle jobs share: claiming, progress, storing the file, and finishing.

A job is claimed by one conditional UPDATE (queued → running, or a running job whose worker has been
silent longer than ``STALE_AFTER``), so a redelivered Celery message finds nothing to do and a job
whose worker died is picked up again. Progress is written outside any transaction: a poll sees it move.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from config.api.errors import ServiceError
from registry import storage
from reports.models import Job, JobStatus

# A render is killed after its own time limit (120 s by default); a job silent for longer has lost
# its worker, so another may take it over.
STALE_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3


class NotReady(ServiceError):
    """The job has not produced its file (yet, or at all): 409 in the API."""

    status_code = 409
    code = "not_ready"


def claim(model: type[Job], job_id: int) -> Job | None:
    """Move the job to running for this worker; None when it is finished or another worker has it."""
    now = timezone.now()
    stale = Q(status=JobStatus.RUNNING, started_at__lt=now - STALE_AFTER, attempts__lt=MAX_ATTEMPTS)
    claimable = model.objects.filter(pk=job_id).filter(Q(status=JobStatus.QUEUED) | stale)
    job = claimable.first()
    if job is None:
        return None
    claimed = claimable.filter(attempts=job.attempts).update(
        status=JobStatus.RUNNING, started_at=now, attempts=job.attempts + 1, error=""
    )
    if not claimed:
        return None
    job.refresh_from_db()
    if job.generated_at is None:
        # Set once: a job taken over after a crash prints the same date as the first attempt.
        job.generated_at = now.replace(microsecond=0)
        model.objects.filter(pk=job.pk).update(generated_at=job.generated_at)
    return job


def exhausted(model: type[Job], job_id: int) -> Job | None:
    """A running job whose worker went silent after its last allowed attempt: to be failed for good."""
    stale_before = timezone.now() - STALE_AFTER
    return (
        model.objects.filter(pk=job_id, status=JobStatus.RUNNING, started_at__lt=stale_before)
        .filter(attempts__gte=MAX_ATTEMPTS)
        .first()
    )


def progress(job: Job, stage: str, current: int, total: int) -> None:
    """Record the stage reached; committed at once (callers are not in a transaction)."""
    job.progress = {"stage": stage, "current": current, "total": total}
    type(job).objects.filter(pk=job.pk).update(progress=job.progress)


def store(prefix: str, content: bytes, filename: str) -> tuple[str, str]:
    """Put ``content`` in storage under its SHA-256; returns (key, sha256). Idempotent."""
    upload = storage.upload_from_file(io.BytesIO(content), filename)
    return storage.store(prefix, upload), upload.sha256


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def mark_failed(job: Job, exc: BaseException) -> None:
    """Set the failed status fields on ``job`` (the caller saves and audits in its transaction)."""
    job.status = JobStatus.FAILED
    job.error = error_text(exc)
    job.finished_at = timezone.now()
    job.progress = {**(job.progress or {}), "stage": "failed"}


def printed_name(user) -> str:
    """Who a document says generated it: the person's printed name, or the system."""
    if user is None:
        return "Attest (automatic)"
    return user.printed_name
