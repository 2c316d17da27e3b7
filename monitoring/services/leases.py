"""Check runs as durable jobs: their kind's declaration and the check-specific face of ``jobs.leases``.

A worker *claims* a run (``jobs.leases.claim``: row lock, fresh ``claim_token``, lease); while it
works, a heartbeat thread pushes the lease forward; every later write by that worker (progress,
results, failure) names the token, so a worker whose claim was taken over writes nothing. A run past
``ATTEST_CHECK_MAX_ATTEMPTS`` claims is failed instead of claimed again. The job reaper (``jobs.reaper``)
queues again, or fails, a run whose lease expired, and re-sends one whose message was lost.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.utils import timezone

from jobs import leases as job_leases
from jobs import progress as job_progress
from jobs.kinds import JobKind, register
from monitoring import dispatch
from monitoring.models import CheckRun

logger = logging.getLogger(__name__)

RunBusy = job_leases.Busy
ClaimLost = job_leases.ClaimLost
TOTAL_STAGES = 4  # reading data, computing, evaluating, saving


def lease_seconds() -> int:
    return settings.ATTEST_CHECK_LEASE_SECONDS


def _on_claim(run: CheckRun, now) -> list[str]:
    run.started_at = now
    run.progress = {"stage": "started", "current": 0, "total": TOTAL_STAGES}
    return ["started_at", "progress"]


def _set_error(run: CheckRun, error_type: str, message: str) -> list[str]:
    run.error_type = error_type[:100]
    run.error_message = message or error_type
    if run.started_at:
        run.duration_seconds = (timezone.now() - run.started_at).total_seconds()
    return ["error_type", "error_message", "duration_seconds"]


def _send(run_id: int, countdown: float | None) -> None:
    run = CheckRun.objects.filter(pk=run_id).values("task_name", "celery_task_id").first()
    if run is not None:
        dispatch.check_run(run_id, run["task_name"], run["celery_task_id"])


CHECK = register(
    JobKind(
        name="check",
        model_label="monitoring.CheckRun",
        task="monitoring.tasks.run_check",
        set_error=_set_error,
        on_claim=_on_claim,
        send=_send,
        max_attempts=lambda: settings.ATTEST_CHECK_MAX_ATTEMPTS,
        lease_seconds=lease_seconds,
        resend_seconds=lambda: settings.ATTEST_CHECK_RESEND_SECONDS,
    )
)


def claim(run_id: int, task_id: str = "", *, total: int = TOTAL_STAGES) -> tuple[CheckRun, str] | None:
    """Claim the run for this worker: ``(run, token)``, or None when there is nothing to do.

    Raises RunBusy when another worker holds a live lease.
    """
    return job_leases.claim(CHECK, run_id)


def fail_locked(run: CheckRun, error_type: str, message: str) -> None:
    """Mark a locked, unfinished run failed and audit it (inside the caller's transaction)."""
    job_leases.fail_locked(CHECK, run, error_type, message)


def release(run_id: int, token: str) -> None:
    """Give the lease up now (before a retry), so the retried task can claim the run at once."""
    job_leases.release(CHECK, run_id, token)


class Progress:
    """Writes ``{"stage", "current", "total"}`` under the claim; raises ClaimLost if the claim is gone.

    Inside a long stage, :meth:`start_step` and :meth:`step` add what is done of it (``{"label", "done", "total", "unit"}``) with
    ``eta_seconds`` (``jobs.progress.eta_seconds``: None until enough is done to tell) and ``updated_at``, the
    UTC time of the write, so a page can count the estimate down between writes. Steps are written at most
    every ``STEP_WRITE_SECONDS`` (and always at the end), so a fast loop costs few database writes.
    """

    STEP_WRITE_SECONDS = 1.0
    clock = staticmethod(time.monotonic)

    def __init__(self, run_id: int, token: str, total: int):
        self.run_id, self.token, self.total = run_id, token, total
        self.current = 0
        self.name = ""
        self._step_label: str | None = None
        self._step_unit = "rows"
        self._step_started = 0.0
        self._last_write = 0.0

    def stage(self, name: str) -> None:
        self.current = min(self.current + 1, self.total)
        self.name = name
        self._step_label = None
        progress: dict[str, Any] = {"stage": name, "current": self.current, "total": self.total}
        job_leases.update(CHECK, self.run_id, self.token, progress=progress)

    def start_step(self, label: str, unit: str = "rows") -> None:
        """A step of the current stage begins now (its clock, for the estimate, starts here)."""
        self._step_label, self._step_unit = label, unit
        self._step_started, self._last_write = self.clock(), 0.0

    def step(self, done: int, total: int) -> None:
        """``done`` of ``total`` units of the current step are finished (written at most every second)."""
        now = self.clock()
        if self._step_label is None:
            self.start_step("working")
        if done < total and now - self._last_write < self.STEP_WRITE_SECONDS:
            return
        self._last_write = now
        # The clock started before the child loaded the model: the pace includes that, so the estimate
        # errs long rather than short.
        elapsed = now - self._step_started
        progress: dict[str, Any] = {
            "stage": self.name,
            "current": self.current,
            "total": self.total,
            "step": {"label": self._step_label, "done": done, "total": total, "unit": self._step_unit},
            "eta_seconds": job_progress.eta_seconds(elapsed, done, total),
            "updated_at": timezone.now().isoformat(),
        }
        job_leases.update(CHECK, self.run_id, self.token, progress=progress)


def Heartbeat(run_id: int, token: str) -> job_leases.Heartbeat:
    """Renew the run's lease every third of its length while the block runs."""
    return job_leases.Heartbeat(CHECK, run_id, token)
