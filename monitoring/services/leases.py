"""Who is running a check: claims, leases, heartbeats and progress, all compare-and-set on the run row.

A worker *claims* a run by locking its row (``SELECT … FOR UPDATE SKIP LOCKED``) and writing a fresh
``claim_token`` with a lease. While it works, a heartbeat thread pushes the lease forward; every later
write by that worker (progress, results, failure) names the token, so a worker whose claim was taken
over writes nothing. A run is claimable when it is queued, when the reaper released it for another
worker (empty token), or when its lease has expired (its worker died).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from governance.audit import record
from monitoring import conf
from monitoring.models import CheckRun, RunStatus

logger = logging.getLogger(__name__)


class RunBusy(Exception):
    """Another worker holds a live lease on the run; try again after ``countdown`` seconds."""

    def __init__(self, countdown: float):
        super().__init__(f"the run is held by another worker; retry in {countdown:.0f} s")
        self.countdown = countdown


class ClaimLost(Exception):
    """This worker's claim was taken over (lease expired and re-claimed, or the run was reaped)."""


def lease_seconds() -> int:
    return conf.get("ATTEST_CHECK_LEASE_SECONDS")


def claim(run_id: int, task_id: str, *, total: int) -> tuple[CheckRun, str] | None:
    """Claim the run for this worker: ``(run, token)``, or None when there is nothing to do.

    Raises RunBusy when another worker holds a live lease. A run past ``ATTEST_CHECK_MAX_ATTEMPTS``
    claims is failed instead of claimed again (a check that kills its worker must not loop forever).
    """
    with transaction.atomic():
        run = CheckRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
        if run is None:
            if CheckRun.objects.filter(pk=run_id).exists():
                raise RunBusy(countdown=5)
            logger.warning("check run %s does not exist; nothing to do", run_id)
            return None
        if run.is_finished:
            return None
        now = timezone.now()
        if run.status == RunStatus.RUNNING and run.claim_token and run.lease_expires_at > now:
            raise RunBusy(countdown=(run.lease_expires_at - now).total_seconds() + 1)
        if run.attempts >= conf.get("ATTEST_CHECK_MAX_ATTEMPTS"):
            fail_locked(
                run,
                "WorkerLost",
                f"The check's worker was lost on each of its {run.attempts} attempts "
                "(a crash, a kill or the hard time limit); giving up.",
            )
            return None
        reclaimed = run.status == RunStatus.RUNNING
        run.status = RunStatus.RUNNING
        run.attempts += 1
        run.claim_token = uuid.uuid4().hex
        run.lease_expires_at = now + timedelta(seconds=lease_seconds())
        run.started_at = now
        run.celery_task_id = task_id or run.celery_task_id
        run.progress = {"stage": "started", "current": 0, "total": total}
        run.save(
            update_fields=[
                "status",
                "attempts",
                "claim_token",
                "lease_expires_at",
                "started_at",
                "celery_task_id",
                "progress",
            ]
        )
        record(
            action="check.started",
            actor=None,
            obj=run,
            after={"attempt": run.attempts, "task_id": run.celery_task_id, "reclaimed": reclaimed},
        )
    return run, run.claim_token


def fail_locked(run: CheckRun, error_type: str, message: str) -> None:
    """Mark a locked, unfinished run failed and audit it (inside the caller's transaction)."""
    now = timezone.now()
    run.status = RunStatus.FAILED
    run.error_type = error_type[:100]
    run.error_message = message or error_type
    run.finished_at = now
    if run.started_at:
        run.duration_seconds = (now - run.started_at).total_seconds()
    run.lease_expires_at = None
    run.claim_token = ""
    run.save()
    record(
        action="check.failed",
        actor=None,
        obj=run,
        after={"error_type": run.error_type, "error": run.error_message[:500], "attempts": run.attempts},
    )


def _mine(run_id: int, token: str):
    return CheckRun.objects.filter(pk=run_id, claim_token=token, status=RunStatus.RUNNING)


def release(run_id: int, token: str) -> None:
    """Give the lease up now (before a retry), so the retried task can claim the run at once."""
    try:
        _mine(run_id, token).update(claim_token="", lease_expires_at=timezone.now())
    except Exception:  # the database may be what failed; the lease then simply runs out
        logger.warning("could not release the lease of check run %s", run_id, exc_info=True)


class Progress:
    """Writes ``{"stage", "current", "total"}`` under the claim; raises ClaimLost if the claim is gone."""

    def __init__(self, run_id: int, token: str, total: int):
        self.run_id, self.token, self.total = run_id, token, total
        self.current = 0

    def stage(self, name: str) -> None:
        self.current = min(self.current + 1, self.total)
        updated = _mine(self.run_id, self.token).update(
            progress={"stage": name, "current": self.current, "total": self.total}
        )
        if not updated:
            raise ClaimLost(f"check run {self.run_id} was taken over by another worker")


class Heartbeat:
    """A thread that renews the lease every third of its length while the block runs.

    Inside an enclosing transaction (tests that run a check in-process) another connection could not
    see the run, so no thread is started there.
    """

    def __init__(self, run_id: int, token: str):
        self.run_id, self.token = run_id, token
        self.stopped = threading.Event()
        self.lost = False
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self.thread = threading.Thread(target=self._beat, name=f"lease-{self.run_id}", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()

    def _beat(self) -> None:
        seconds = lease_seconds()
        try:
            while not self.stopped.wait(max(1.0, seconds / 3)):
                expires = timezone.now() + timedelta(seconds=seconds)
                if not _mine(self.run_id, self.token).update(lease_expires_at=expires):
                    self.lost = True
                    return
        except Exception:
            logger.warning("heartbeat of check run %s failed", self.run_id, exc_info=True)
        finally:
            connection.close()
