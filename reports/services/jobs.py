"""What report and bundle jobs share: their job kinds, claiming, progress, storing the file, finishing.

Reports and bundles are durable jobs (``jobs``): a worker claims one with a lease and renews it while
it renders, every write it makes is conditional on its claim, and the reaper queues again (or fails,
after the last attempt) a job whose worker died. Progress is written outside any transaction: a poll
sees it move.
"""

from __future__ import annotations

import hashlib
import io

from config.api.errors import ServiceError
from jobs import leases
from jobs.kinds import JobKind, register
from registry import storage
from reports.models import EvidenceBundle, Job


class NotReady(ServiceError):
    """The job has not produced its file (yet, or at all): 409 in the API."""

    status_code = 409
    code = "not_ready"


def _on_claim(job: Job, now) -> list[str]:
    job.started_at = now
    job.error = ""
    if job.generated_at is None:
        # Set once: a job taken over after a crash prints the same date as the first attempt.
        job.generated_at = now.replace(microsecond=0)
    return ["started_at", "error", "generated_at"]


def _set_error(job: Job, error_type: str, message: str) -> list[str]:
    job.error = f"{error_type}: {message}"[:2000]
    job.progress = {**(job.progress or {}), "stage": "failed"}
    return ["error", "progress"]


REPORT = register(
    JobKind(
        name="report",
        model_label="reports.Report",
        task="reports.tasks.render_report",
        set_error=_set_error,
        on_claim=_on_claim,
    )
)
BUNDLE = register(
    JobKind(
        name="bundle",
        model_label="reports.EvidenceBundle",
        task="reports.tasks.build_bundle",
        set_error=_set_error,
        on_claim=_on_claim,
    )
)


def kind_of(job_or_model) -> JobKind:
    model = job_or_model if isinstance(job_or_model, type) else type(job_or_model)
    return BUNDLE if issubclass(model, EvidenceBundle) else REPORT


def claim(model: type[Job], job_id: int) -> Job | None:
    """Claim the job for this worker (its ``claim_token`` is then this worker's); None when it is
    finished, not due, failed for using up its attempts, or another worker holds a live lease."""
    try:
        claimed = leases.claim(kind_of(model), job_id)
    except leases.Busy:
        return None  # the holder finishes it, or the reaper queues it again when its lease runs out
    return claimed[0] if claimed else None


def heartbeat(job: Job) -> leases.Heartbeat:
    return leases.Heartbeat(kind_of(job), job.pk, job.claim_token)


def progress(job: Job, stage: str, current: int, total: int) -> None:
    """Record the stage reached under the claim (ClaimLost if it was taken over); committed at once."""
    job.progress = {"stage": stage, "current": current, "total": total}
    leases.update(kind_of(job), job.pk, job.claim_token, progress=job.progress)


def fail(job: Job, exc: BaseException) -> Job:
    """Fail the job this worker holds with ``exc`` (audited ``report.failed`` / ``bundle.failed``)."""
    kind = kind_of(job)
    leases.fail(kind, job.pk, job.claim_token, type(exc).__name__, str(exc) or repr(exc))
    return kind.model.objects.get(pk=job.pk)


def store(prefix: str, content: bytes, filename: str) -> tuple[str, str]:
    """Put ``content`` in storage under its SHA-256; returns (key, sha256). Idempotent."""
    upload = storage.upload_from_file(io.BytesIO(content), filename)
    return storage.store(prefix, upload), upload.sha256


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def printed_name(user) -> str:
    """Who a document says generated it: the person's printed name, or the system."""
    if user is None:
        return "Attest (automatic)"
    return user.printed_name
