"""The audit log's own services: signed checkpoints, verification jobs and audited exports."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from governance import access
from governance.audit import checkpoints, keys, record, verifier
from governance.models import AuditCheckpoint, AuditVerification, User

logger = logging.getLogger(__name__)
Status = AuditVerification.Status
# How long past the task's hard time limit a verification may still show "running" before it is failed.
REAP_MARGIN = timedelta(minutes=1)


def checkpoint_sign(*, actor: User | None = None, force: bool = False) -> AuditCheckpoint | None:
    """Sign the chain head now (see ``governance.audit.checkpoints.create`` for the guarantees)."""
    return checkpoints.create(actor=actor, force=force)


def default_export() -> Path | None:
    """The configured export folder when it holds checkpoints, for verifications that name none."""
    directory = checkpoints.export_dir()
    if directory.is_dir() and any(directory.glob("checkpoint*.json*")):
        return directory
    return None


def verification_request(*, actor: User, from_seq: int | None = None) -> AuditVerification:
    """Queue a verification of the chain. Auditors, risk officers and administrators only.

    The job is queued after commit, so the worker always finds the row.
    """
    access.require(actor, "audit")
    with transaction.atomic():
        job = AuditVerification.objects.create(
            from_seq=from_seq, requested_by=actor, requested_by_username=actor.get_username()
        )
        transaction.on_commit(lambda: _queue_verification(job.pk))
    return job


def _queue_verification(verification_id: int) -> None:
    from governance.tasks import audit_verify

    audit_verify.delay(verification_id)


def verification_run(*, verification_id: int) -> AuditVerification | None:
    """Run a queued verification and store its report; records ``audit.verified`` with the verdict.

    A job runs once: it is claimed by moving it from queued to running, so a redelivered message
    finds nothing to do. A crash of the verifier marks the job failed with the error.
    """
    claimed = AuditVerification.objects.filter(pk=verification_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = AuditVerification.objects.get(pk=verification_id)
    with _ProgressWriter(job.pk) as progress:
        try:
            report = verifier.verify(
                public_keys=keys.public_keys(),
                from_seq=job.from_seq,
                export=default_export(),
                progress=progress,
            )
        except Exception as exc:
            logger.exception("audit verification %s failed", job.pk)
            return _verification_failed(job, f"{type(exc).__name__}: {exc}")
    return _verification_done(job, report)


def verifications_reap(*, now: datetime | None = None) -> list[int]:
    """Fail the verifications still running after the task's hard time limit; returns their ids.

    By then Celery has killed the task, or its worker died (a crash, a deploy) and nothing will finish the
    job: without this it would show "running" for ever. Each is failed with its audit event.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) - REAP_MARGIN
    stale = AuditVerification.objects.filter(status=Status.RUNNING, started_at__lt=cutoff)
    reaped = []
    for job_id in list(stale.values_list("pk", flat=True)):
        with transaction.atomic():
            job = stale.select_for_update(skip_locked=True).filter(pk=job_id).first()
            if job is None:  # finished meanwhile, or another reaper holds it
                continue
            _verification_failed(
                job,
                f"WorkerLost: the verification started at {job.started_at:%Y-%m-%d %H:%M:%S} UTC and its "
                "worker stopped before finishing (a crash, a restart or the task time limit); "
                "request a new verification.",
            )
            reaped.append(job_id)
    return reaped


def _verification_done(job: AuditVerification, report: verifier.Report) -> AuditVerification:
    result = report.as_dict()
    with transaction.atomic():
        job.status = Status.SUCCEEDED
        job.intact = report.intact
        job.result = result
        job.progress_current = job.progress_total = report.events_checked
        job.finished_at = timezone.now()
        job.save()
        record(
            action="audit.verified",
            actor=job.requested_by,
            obj=job,
            after=_verdict(result),
        )
    return job


def _verdict(result: dict[str, Any]) -> dict[str, Any]:
    keys_kept = ("intact", "events_checked", "first_seq", "last_seq", "chain_head", "first_bad_seq")
    verdict = {key: result[key] for key in keys_kept}
    verdict["problems"] = len(result["problems"]) + result["problems_omitted"]
    return verdict


def _verification_failed(job: AuditVerification, error: str) -> AuditVerification:
    with transaction.atomic():
        job.status = Status.FAILED
        job.error = error[:2000]
        job.finished_at = timezone.now()
        job.save()
        record(action="audit.verified", actor=job.requested_by, obj=job, after={"error": job.error})
    return job


class _ProgressWriter:
    """Writes progress from a second connection: the walk's own transaction is invisible until it ends."""

    def __init__(self, verification_id: int):
        self.verification_id = verification_id
        self.connection = None

    def __enter__(self):
        return self

    def __call__(self, current: int, total: int) -> None:
        if self.connection is None:
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
        with self.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE governance_auditverification SET progress_current = %s, progress_total = %s"
                " WHERE id = %s",
                [current, total, self.verification_id],
            )

    def __exit__(self, *exc_info) -> None:
        if self.connection is not None:
            self.connection.close()


def export_started(*, actor: User, export_format: str, filters: dict[str, Any]) -> int:
    """Record that ``actor`` is exporting events; returns the last seq the export will contain.

    The export event is itself in the export (when the filters select it): an exported file carries
    the record of its own making.
    """
    access.require(actor, "audit")
    with transaction.atomic():
        event = record(
            action="audit.exported",
            actor=actor,
            after={"format": export_format, "filters": filters},
        )
    return event.seq
