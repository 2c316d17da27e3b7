"""The audit log's services for people: verification jobs (durable jobs, ``jobs``) and audited exports.

They sit in governance, above the ``audit`` app, because they check access and run on jobs' leases.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from accounts import access
from accounts.models import User
from audit import checkpoints, keys, record, verifier
from audit.models import AuditVerification
from jobs import leases, reaper
from jobs.kinds import JobKind, register
from workflow import dispatch

logger = logging.getLogger(__name__)
Status = AuditVerification.Status


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
    dispatch.audit_verify(verification_id)


def verification_run(*, verification_id: int) -> AuditVerification | None:
    """Run a queued verification and store its report; records ``audit.verified`` with the verdict.

    A durable job (``jobs``): claimed with a lease renewed while the walk runs, so a redelivered
    message finds nothing to do and a job whose worker died is queued again by the reaper (or failed
    after its last attempt). A crash of the verifier fails the job with the error
    (``audit_verification.failed``).
    """
    try:
        claimed = leases.claim(VERIFICATION, verification_id)
    except leases.Busy:
        return None
    if claimed is None:
        return None
    job, token = claimed
    with leases.Heartbeat(VERIFICATION, job.pk, token), _ProgressWriter(job.pk) as progress:
        leases.test_delay()
        try:
            report = verifier.verify(
                public_keys=keys.public_keys(),
                from_seq=job.from_seq,
                export=checkpoints.default_export(),
                progress=progress,
            )
        except Exception as exc:
            logger.exception("audit verification %s failed", job.pk)
            leases.fail(VERIFICATION, job.pk, token, type(exc).__name__, str(exc) or repr(exc))
            return AuditVerification.objects.get(pk=job.pk)
    return _verification_done(job, token, report)


def verifications_reap(*, now: datetime | None = None) -> dict[str, int]:
    """Queue again (or fail, after the last attempt) verifications whose worker stopped renewing its
    lease; the job reaper does this for every kind, this is its verification part."""
    return reaper.reap_kind(VERIFICATION, now=now)


def _verification_done(job: AuditVerification, token: str, report: verifier.Report) -> AuditVerification:
    result = report.as_dict()
    with leases.holding(VERIFICATION, job.pk, token) as current:
        if current is None:
            return AuditVerification.objects.get(pk=job.pk)
        current.intact = report.intact
        current.result = result
        current.progress_current = current.progress_total = report.events_checked
        leases.succeed_locked(VERIFICATION, current)
        current.save()
        record(
            action="audit.verified",
            actor=current.requested_by,
            obj=current,
            after=_verdict(result),
        )
    return current


def _verdict(result: dict[str, Any]) -> dict[str, Any]:
    keys_kept = ("intact", "events_checked", "first_seq", "last_seq", "chain_head", "first_bad_seq")
    verdict = {key: result[key] for key in keys_kept}
    verdict["problems"] = len(result["problems"]) + result["problems_omitted"]
    return verdict


def _set_error(job: AuditVerification, error_type: str, message: str) -> list[str]:
    job.error = f"{error_type}: {message}"[:2000]
    if error_type == "WorkerLost":
        job.error += " Request a new verification."
    return ["error"]


def _on_claim(job: AuditVerification, now) -> list[str]:
    job.started_at = now
    return ["started_at"]


VERIFICATION = register(
    JobKind(
        name="audit_verification",
        model_label="audit.AuditVerification",
        task="governance.tasks.audit_verify",
        set_error=_set_error,
        on_claim=_on_claim,
    )
)


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
