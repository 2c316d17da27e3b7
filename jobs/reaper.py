"""The one reaper: for every declared kind, jobs whose worker vanished and jobs whose message was lost.

* A job ``running`` past its lease lost its worker (a crash, a kill, the hard time limit): it is queued
  again and its task sent (``<kind>.requeued``), or failed with the reason once it has used its
  attempts (``<kind>.failed``, ``WorkerLost``). A job never stays running.
* A job waiting (queued, or a retry that fell due) for ``resend_seconds`` without a claim may have had
  its message lost by the broker: its task is sent again (``<kind>.requeued``, ``resent``) and the
  time noted in ``next_attempt_at``, so the next send waits another period. A long backlog also looks
  like this, which is why waiting jobs are never failed here; the copy is harmless, because whichever
  message arrives first claims the job and the other finds nothing to do.

Beat runs it every ``ATTEST_JOB_REAP_EVERY_SECONDS`` and each worker runs it when it starts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit import record
from jobs import kinds, leases
from jobs.kinds import QUEUED, RUNNING, JobKind

logger = logging.getLogger(__name__)
BATCH = 500


def reap(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Reap every declared kind; returns the counts per kind."""
    now = now or timezone.now()
    return {name: reap_kind(kind, now=now) for name, kind in sorted(kinds.KINDS.items())}


def reap_kind(kind: JobKind, *, now: datetime | None = None) -> dict[str, int]:
    """``{"requeued", "failed", "resent"}`` for one kind (see the module docstring)."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    for job_id in _ids(_expired(kind, now)):
        outcome = _reap_expired(kind, job_id, now)
        if outcome:
            counts[outcome] += 1
    for job_id in _ids(_stranded(kind, now)):
        counts["resent"] += _resend(kind, job_id, now)
    return counts


def _ids(queryset) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH])


def _expired(kind: JobKind, now: datetime):
    # no lease at all: a row left running before jobs had leases (a profile or report of an older release)
    lapsed = Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    return kind.model.objects.filter(lapsed, **{kind.status_field: kind.value(RUNNING)})


def _stranded(kind: JobKind, now: datetime):
    cutoff = now - timedelta(seconds=kind.resend_seconds())
    waiting = Q(**{f"{kind.status_field}__in": kind.waiting_values()})
    return (
        kind.model.objects.filter(waiting)
        .annotate(_last_sent=Coalesce(F("next_attempt_at"), F("created_at")))
        .filter(_last_sent__lt=cutoff)
    )


def _reap_expired(kind: JobKind, job_id: int, now: datetime) -> str | None:
    with transaction.atomic():
        job = _expired(kind, now).select_for_update(skip_locked=True, no_key=True).filter(pk=job_id).first()
        if job is None:  # finished or renewed meanwhile, or another reaper holds it
            return None
        if job.attempts >= kind.max_attempts():
            leases.fail_locked(kind, job, "WorkerLost", leases.lost_message(job))
            return "failed"
        expired = job.lease_expires_at
        setattr(job, kind.status_field, kind.value(QUEUED))
        job.claim_token = ""
        job.lease_expires_at = None
        job.next_attempt_at = now
        job.save(update_fields=[kind.status_field, "claim_token", "lease_expires_at", "next_attempt_at"])
        record(
            action=f"{kind.name}.requeued",
            actor=None,
            obj=job,
            after={"attempts": job.attempts, "lease_expired_at": expired, "resent": False},
        )
        transaction.on_commit(partial(leases.send, kind, job.pk))
    return "requeued"


def _resend(kind: JobKind, job_id: int, now: datetime) -> int:
    with transaction.atomic():
        job = _stranded(kind, now).select_for_update(skip_locked=True, no_key=True).filter(pk=job_id).first()
        if job is None:
            return 0
        waiting_since = job.next_attempt_at or job.created_at
        job.next_attempt_at = now
        job.save(update_fields=["next_attempt_at"])
        record(
            action=f"{kind.name}.requeued",
            actor=None,
            obj=job,
            after={"attempts": job.attempts, "waiting_since": waiting_since, "resent": True},
        )
        transaction.on_commit(partial(leases.send, kind, job.pk))
    return 1
