"""The declaration of each kind of job: one entry per kind, read by the leases and the reaper.

A kind names its model (which inherits ``jobs.models.LeasedJob``), the Celery task that works one job
(called with the job's id), how the model spells the common states, where the error goes, its limits,
and the prefix of the audit actions the mechanism writes for it (``<audit_name>.started``,
``.requeued``, ``.retrying``, ``.failed``). Apps declare their kinds in their ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings

QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED = "queued", "running", "retrying", "succeeded", "failed"
STATES = (QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED)


def _default_error(job, error_type: str, message: str) -> list[str]:
    job.error = f"{error_type}: {message}" if message else error_type
    return ["error"]


@dataclass(frozen=True)
class JobKind:
    """How one kind of job is stored, sent and limited (see the module docstring)."""

    name: str  # also the audit prefix: check, report, bundle, dataset_profile, ...
    model_label: str  # "app_label.ModelName"
    task: str  # Celery task name; sent with args=[job id]
    status_field: str = "status"
    # the model's value for each common state; a kind without its own "retrying" waits as queued
    state_values: dict[str, str] = field(default_factory=dict)
    set_error: Callable[[Any, str, str], list[str]] = _default_error
    max_attempts: Callable[[], int] = lambda: settings.ATTEST_JOB_MAX_ATTEMPTS
    lease_seconds: Callable[[], int] = lambda: settings.ATTEST_JOB_LEASE_SECONDS
    resend_seconds: Callable[[], int] = lambda: settings.ATTEST_JOB_RESEND_SECONDS
    backoff: Callable[[int], int] | None = None  # seconds before retry n (n = attempts so far)
    # how to send the job's task, when it is not simply ``task.apply_async(args=[id])``
    send: Callable[[Any, float | None], None] | None = None
    # fields set on the row when a worker claims it (started_at, progress, ...)
    on_claim: Callable[[Any, Any], list[str]] | None = None

    @property
    def model(self):
        return apps.get_model(self.model_label)

    def value(self, state: str) -> str:
        if state == RETRYING and RETRYING not in self.state_values:
            return self.value(QUEUED)
        return self.state_values.get(state, state)

    def waiting_values(self) -> list[str]:
        return sorted({self.value(QUEUED), self.value(RETRYING)})

    def finished_values(self) -> list[str]:
        return [self.value(SUCCEEDED), self.value(FAILED)]

    def status_of(self, job) -> str:
        return getattr(job, self.status_field)

    def delay_before_retry(self, attempts: int) -> int:
        if self.backoff is not None:
            return self.backoff(attempts)
        return backoff(attempts)


def backoff(attempts: int) -> int:
    """Exponential backoff: base, twice that, four times, … after the 1st, 2nd, 3rd failed attempt, capped."""
    base = settings.ATTEST_JOB_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.ATTEST_JOB_BACKOFF_MAX_SECONDS)


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Declare a kind (idempotent for the same declaration; a second, different one is a bug)."""
    existing = KINDS.get(kind.name)
    if existing is not None and existing.model_label != kind.model_label:
        raise ValueError(f"job kind {kind.name!r} is already declared for {existing.model_label}")
    KINDS[kind.name] = kind
    return kind


def get(name: str) -> JobKind:
    return KINDS[name]
