"""Who is working a job: claims, leases, heartbeats, and the conditional writes that finish it.

A worker *claims* a job by locking its row (``SELECT … FOR UPDATE SKIP LOCKED``) and writing a fresh
``claim_token`` with a lease. While it works, a heartbeat thread pushes the lease forward; every later
write by that worker (progress, result, failure, retry) names the token, so a worker whose claim was
taken over writes nothing. A job is claimable when it is waiting (queued, or its retry is due) or when
its lease has expired (its worker died). A job past its kind's ``max_attempts`` claims is failed instead
of claimed again, so a job that kills its worker cannot loop for ever.

Every state change writes its audit event in the same transaction: ``<kind>.started`` on a claim,
``<kind>.retrying`` when a failed attempt waits for its backoff, ``<kind>.failed`` when it gives up, and
(the reaper) ``<kind>.requeued``. The success event is the owning app's (``report.generated``, …).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import record
from config.celery_app import task_named
from jobs.kinds import FAILED, QUEUED, RETRYING, RUNNING, SUCCEEDED, JobKind

logger = logging.getLogger(__name__)
MAX_ERROR_CHARS = 4000
# A retried task may arrive a moment before the time its row says (clocks, broker ETAs): still due.
DUE_TOLERANCE = timedelta(seconds=2)


class Busy(Exception):
    """Another worker holds a live lease on the job; try again after ``countdown`` seconds."""

    def __init__(self, countdown: float):
        super().__init__(f"the job is held by another worker; retry in {countdown:.0f} s")
        self.countdown = countdown


class ClaimLost(Exception):
    """This worker's claim was taken over (its lease expired and another worker claimed the job)."""


def claim(kind: JobKind, job_id: int) -> tuple[Any, str] | None:
    """Claim the job for this worker: ``(job, token)``, or None when there is nothing to do.

    Nothing to do: the job is missing, finished, or waiting for a retry that is not due yet (a
    redelivered or duplicate message). Raises Busy when another worker holds a live lease.
    """
    model = kind.model
    with transaction.atomic():
        # FOR NO KEY UPDATE, as every lock on a job row here: a job never changes its key, and a plain FOR
        # UPDATE would block rows that reference it (a check naming a dataset version being profiled), whose
        # deferred foreign-key check then waits at commit while holding the audit lock: a deadlock.
        job = model.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=job_id).first()
        if job is None:
            if model.objects.filter(pk=job_id).exists():
                raise Busy(countdown=5)
            logger.warning("%s job %s does not exist; nothing to do", kind.name, job_id)
            return None
        status, now = kind.status_of(job), timezone.now()
        if status in kind.finished_values():
            return None
        if status == kind.value(RUNNING) and job.claim_token and (job.lease_expires_at or now) > now:
            raise Busy(countdown=(job.lease_expires_at - now).total_seconds() + 1)
        if (
            status != kind.value(RUNNING)
            and job.next_attempt_at
            and job.next_attempt_at > now + DUE_TOLERANCE
        ):
            return None  # a retry that is not due: its own message (or the reaper) comes back for it
        if job.attempts >= kind.max_attempts():
            fail_locked(kind, job, "WorkerLost", lost_message(job))
            return None
        reclaimed = status == kind.value(RUNNING)
        job.attempts += 1
        job.claim_token = uuid.uuid4().hex
        job.lease_expires_at = now + timedelta(seconds=kind.lease_seconds())
        job.next_attempt_at = None
        setattr(job, kind.status_field, kind.value(RUNNING))
        extra = kind.on_claim(job, now) if kind.on_claim else []
        job.save(update_fields=[kind.status_field, *job.LEASE_FIELDS, *extra])
        record(
            action=f"{kind.name}.started",
            actor=None,
            obj=job,
            after={"attempt": job.attempts, "reclaimed": reclaimed},
        )
    return job, job.claim_token


def lost_message(job) -> str:
    return (
        f"Its worker was lost on each of its {job.attempts} attempts "
        "(a crash, a kill or the hard time limit); giving up."
    )


def mine(kind: JobKind, job_id: int, token: str):
    """The job as a queryset, only while this worker's claim holds."""
    return kind.model.objects.filter(pk=job_id, claim_token=token, **{kind.status_field: kind.value(RUNNING)})


def update(kind: JobKind, job_id: int, token: str, **fields) -> None:
    """Write ``fields`` (progress, an intermediate result) under the claim; ClaimLost if it is gone."""
    if not mine(kind, job_id, token).update(**fields):
        raise ClaimLost(f"{kind.name} job {job_id} was taken over by another worker")


@contextmanager
def holding(kind: JobKind, job_id: int, token: str) -> Iterator[Any | None]:
    """A transaction with the job locked, yielding it while this worker's claim holds (else None).

    Finishing writes happen in here, so a worker whose claim was taken over finishes nothing.
    """
    with transaction.atomic():
        job = mine(kind, job_id, token).select_for_update(no_key=True).first()
        if job is None:
            logger.warning(
                "%s job %s was finished or taken over; this worker's result is discarded", kind.name, job_id
            )
        yield job


def _release(kind: JobKind, job) -> list[str]:
    job.claim_token = ""
    job.lease_expires_at = None
    return ["claim_token", "lease_expires_at"]


def succeed_locked(kind: JobKind, job) -> list[str]:
    """Set the job succeeded and give up the claim (the caller saves and audits its own success)."""
    setattr(job, kind.status_field, kind.value(SUCCEEDED))
    job.next_attempt_at = None
    _set_finished(job)
    return [kind.status_field, "next_attempt_at", *_release(kind, job), *_finished_fields(job)]


def fail_locked(kind: JobKind, job, error_type: str, message: str) -> None:
    """Fail a locked, unfinished job for good with its reason, and audit ``<kind>.failed``."""
    setattr(job, kind.status_field, kind.value(FAILED))
    job.next_attempt_at = None
    error_fields = kind.set_error(job, error_type[:100], (message or error_type)[:MAX_ERROR_CHARS])
    _release(kind, job)
    _set_finished(job)
    job.save()
    record(
        action=f"{kind.name}.failed",
        actor=None,
        obj=job,
        after={
            "error_type": error_type[:100],
            "error": (message or error_type)[:500],
            "attempts": job.attempts,
            "fields": sorted(error_fields),
        },
    )


def retry_locked(kind: JobKind, job, error_type: str, message: str, *, now=None) -> float | None:
    """After a failed attempt: wait for the backoff (audited ``<kind>.retrying``) and return the delay,
    or fail for good when the attempts are used up (returns None)."""
    if job.attempts >= kind.max_attempts():
        fail_locked(kind, job, error_type, message)
        return None
    delay = kind.delay_before_retry(job.attempts)
    setattr(job, kind.status_field, kind.value(RETRYING))
    job.next_attempt_at = (now or timezone.now()) + timedelta(seconds=delay)
    _release(kind, job)
    job.save()
    record(
        action=f"{kind.name}.retrying",
        actor=None,
        obj=job,
        after={
            "error_type": error_type[:100],
            "error": (message or error_type)[:500],
            "attempts": job.attempts,
            "next_attempt_at": job.next_attempt_at,
        },
    )
    return delay


def fail(kind: JobKind, job_id: int, token: str | None, error_type: str, message: str) -> bool:
    """Fail the job if this worker still holds it (``token`` None: whoever holds it); True if failed."""
    with transaction.atomic():
        job = kind.model.objects.select_for_update(no_key=True).filter(pk=job_id).first()
        if job is None or kind.status_of(job) in kind.finished_values():
            return False
        if token is not None and job.claim_token != token:
            return False
        fail_locked(kind, job, error_type, message)
    return True


def release(kind: JobKind, job_id: int, token: str) -> None:
    """Give the lease up now (before a transient-error retry), so the retried task can claim at once."""
    try:
        mine(kind, job_id, token).update(claim_token="", lease_expires_at=timezone.now())
    except Exception:  # the database may be what failed; the lease then simply runs out
        logger.warning("could not release the lease of %s job %s", kind.name, job_id, exc_info=True)


def _set_finished(job) -> None:
    if hasattr(job, "finished_at"):
        job.finished_at = timezone.now()


def _finished_fields(job) -> list[str]:
    return ["finished_at"] if hasattr(job, "finished_at") else []


def send(kind: JobKind, job_id: int, countdown: float | None = None) -> None:
    """Send the job's task (called on commit): the kind's own way, or its task with the id."""
    if kind.send is not None:
        kind.send(job_id, countdown)
        return
    task_named(kind.task).apply_async(args=[job_id], countdown=countdown)


def test_delay() -> None:
    """Test hook (ATTEST_TEST_JOB_DELAY): hold the claim for a while so a test can kill the worker."""
    seconds = settings.ATTEST_TEST_JOB_DELAY
    if seconds:
        time.sleep(seconds)


class Heartbeat:
    """A thread that renews the lease every third of its length while the block runs.

    Inside an enclosing transaction (tests that run a job in-process) another connection could not see
    the row, so no thread is started there.
    """

    def __init__(self, kind: JobKind, job_id: int, token: str):
        self.kind, self.job_id, self.token = kind, job_id, token
        self.stopped = threading.Event()
        self.lost = False
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            name = f"lease-{self.kind.name}-{self.job_id}"
            self.thread = threading.Thread(target=self._beat, name=name, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()

    def _beat(self) -> None:
        seconds = self.kind.lease_seconds()
        try:
            while not self.stopped.wait(max(1.0, seconds / 3)):
                expires = timezone.now() + timedelta(seconds=seconds)
                if not mine(self.kind, self.job_id, self.token).update(lease_expires_at=expires):
                    self.lost = True
                    return
        except Exception:
            logger.warning("heartbeat of %s job %s failed", self.kind.name, self.job_id, exc_info=True)
        finally:
            connection.close()


__all__ = [
    "FAILED",
    "QUEUED",
    "RETRYING",
    "RUNNING",
    "SUCCEEDED",
    "Busy",
    "ClaimLost",
    "Heartbeat",
    "claim",
    "fail",
    "fail_locked",
    "holding",
    "mine",
    "release",
    "retry_locked",
    "send",
    "succeed_locked",
    "update",
]
