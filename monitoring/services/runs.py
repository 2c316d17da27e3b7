"""Check runs: queue one, execute it on a worker, finish it once, reap the ones whose worker vanished."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from accounts import access
from accounts.models import User
from audit import record
from jobs import reaper
from monitoring import data, dispatch, evidence, results, sandbox, thresholds
from monitoring.checks import KINDS
from monitoring.checks.base import CheckContext, outcome_of
from monitoring.dispatch import TASK_FOR_PLAIN_CHECKS, TASK_FOR_SCORING, TASK_FOR_SHAP
from monitoring.models import CheckRun, MonitoringPlan, RunStatus
from monitoring.services import alerts, leases
from registry.formats import SKOPS_ACCEPTED_TYPES
from registry.models import DatasetVersion, ModelVersion

logger = logging.getLogger(__name__)

# Worth retrying: the database or the broker was briefly unreachable.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, BrokerError)
MAX_ERROR_CHARS = 4000


def task_for(kind: str, config: dict[str, Any]) -> str:
    """Checks that execute the model go to the sandbox queue; the others to the checks queue."""
    if kind == "explainability":
        return TASK_FOR_SHAP
    return TASK_FOR_SCORING if KINDS[kind].needs_model(config) else TASK_FOR_PLAIN_CHECKS


def check_run_create(
    *,
    actor: User | None,
    kind: str,
    version: ModelVersion,
    reference: DatasetVersion | None = None,
    current: DatasetVersion | None = None,
    config: dict[str, Any] | None = None,
    plan: MonitoringPlan | None = None,
) -> CheckRun:
    """Validate and queue a check; the task is sent once the run has committed.

    Guarantees: the actor may run checks on the version (PermissionDenied otherwise; ``actor`` None is
    the system, for monitoring plans); the configuration is valid for the datasets' schemas
    (ValidationError naming the field); the artifact and dataset SHA-256s are copied in; the thresholds
    are resolved and stored with their sources; ``check.queued`` is audited in the same transaction.
    """
    if actor is not None:
        access.require(actor, "run_checks", version)
    if reference is not None and not _uses_reference(kind):
        raise ValidationError({"reference_dataset": [f"A {kind} check does not use a reference dataset."]})
    resolved = KINDS[kind].normalise(config or {}, version=version, reference=reference, current=current)
    _require_visible_baseline(actor, version, resolved)
    run = CheckRun(
        kind=kind,
        model_version=version,
        reference_dataset=reference,
        current_dataset=current,
        artifact_sha256=version.artifact_sha256,
        reference_sha256=reference.file_sha256 if reference is not None else "",
        current_sha256=current.file_sha256 if current is not None else "",
        config=resolved,
        requested_by=actor,
        plan=plan,
        task_name=task_for(kind, resolved),
        celery_task_id=uuid.uuid4().hex,
    )
    run.thresholds = thresholds.resolve_thresholds(run)
    with transaction.atomic():
        run.save()
        record(action="check.queued", actor=actor, obj=run, after=_queued_facts(run))
        transaction.on_commit(lambda: dispatch.check_run(run.pk, run.task_name, run.celery_task_id))
    return run


def _require_visible_baseline(actor: User | None, version: ModelVersion, config: dict[str, Any]) -> None:
    """A baseline run named in the request is evidence its requester must be allowed to see (an invisible
    run reads exactly like a missing one)."""
    baseline = config.get("baseline") or {}
    if actor is None or baseline.get("source") != "run":
        return
    if not access.scope(actor, CheckRun.objects.filter(pk=baseline["run"])).exists():
        raise ValidationError(
            {
                "config.options.baseline_run": [
                    f"No check run #{baseline['run']} of model {version.model.name} is visible to you."
                ]
            }
        )


def _uses_reference(kind: str) -> bool:
    return kind in ("drift", "data_quality", "explainability")


def _queued_facts(run: CheckRun) -> dict[str, Any]:
    return {
        "kind": run.kind,
        "model_version": str(run.model_version),
        "artifact_sha256": run.artifact_sha256,
        "reference": _dataset_reference(run.reference_dataset),
        "current": _dataset_reference(run.current_dataset),
        "thresholds": {name: entry["value"] for name, entry in run.thresholds.items()},
        "plan": run.plan_id,
        "task": run.task_name,
    }


def _dataset_reference(version: DatasetVersion | None) -> str | None:
    if version is None:
        return None
    return f"{version.dataset.name}:{version.version}@sha256:{version.file_sha256}"


@dataclass
class Computed:
    results: dict[str, Any]
    evaluations: list[dict[str, Any]]
    outcome: str
    outcome_reason: str
    diagnostics: dict[str, Any] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)


def check_run_execute(*, run_id: int, task_id: str = "") -> str:
    """Run a queued check on this worker and record its result or its error; returns the final status.

    Guarantees: at most one worker computes a run at a time (the claim); results, their digest, the
    outcome, any alert and the status change commit together, once (a redelivered task finds the run
    finished and does nothing); an error ends the run ``failed`` with its type and message, never
    ``running``. Transient database/broker errors release the lease and propagate for the task to retry.
    Raises RunBusy when another worker holds a live lease.
    """
    total = 4  # reading data, computing, evaluating, saving
    claimed = leases.claim(run_id, task_id, total=total)
    if claimed is None:
        return CheckRun.objects.filter(pk=run_id).values_list("status", flat=True).first() or "missing"
    run, token = claimed
    progress = leases.Progress(run.pk, token, total)
    try:
        with leases.Heartbeat(run.pk, token):
            _test_delay(progress)
            computed = _compute(run, progress)
    except leases.ClaimLost:
        logger.warning("check run %s was taken over; this worker's work is discarded", run_id)
        return "lost"
    except TRANSIENT_ERRORS:
        leases.release(run.pk, token)
        raise
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        _fail(run.pk, token, "TimeLimitExceeded", f"The check exceeded its time limit of {limit} s.")
        return RunStatus.FAILED
    except Exception as exc:
        _fail(run.pk, token, getattr(exc, "error_type", None) or type(exc).__name__, _message(exc))
        return RunStatus.FAILED
    return _succeed(run.pk, token, computed)


def _message(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing key or column {text}"
    elif isinstance(exc, MemoryError):
        # numpy says "Unable to allocate …", plain Python says nothing: name the bound that was hit.
        text = (
            f"the check needed more memory than the worker's limit (ATTEST_WORKER_MEMORY_MB = "
            f"{settings.ATTEST_WORKER_MEMORY_MB} MB): {text}"
        )
    return text[:MAX_ERROR_CHARS]


def _test_delay(progress: leases.Progress) -> None:
    """Test hook (ATTEST_TEST_CHECK_DELAY): hold the claim for a while so a test can kill the worker."""
    seconds = settings.ATTEST_TEST_CHECK_DELAY
    if seconds:
        progress.stage("test delay")
        progress.current -= 1
        time.sleep(seconds)


def _compute(run: CheckRun, progress: leases.Progress) -> Computed:
    spec = KINDS[run.kind]
    progress.stage("reading data")
    reference = data.read_dataset(run.reference_dataset) if run.reference_dataset_id else None
    current = data.read_dataset(run.current_dataset) if run.current_dataset_id else None
    ctx = CheckContext(run.kind, run.config, run.thresholds, reference, current)
    progress.stage("computing")
    if spec.needs_model(run.config):
        with data.artifact_file(run.model_version) as artifact:
            _attach_sandbox(ctx, run, artifact, progress)
            metrics = spec.compute(ctx)
    else:
        metrics = spec.compute(ctx)
    progress.stage("evaluating")
    evaluations = spec.evaluate(metrics, run.thresholds)
    outcome, reason = outcome_of(evaluations)
    # stored through the typed form, so a kind whose output drifts from the published schema fails here
    stored = results.parse(
        run.kind,
        {"format": results.FORMAT, "kind": run.kind, "metrics": metrics, "charts": spec.charts(metrics)},
    ).to_stored()
    judged = results.stored_evaluations(results.EVALUATIONS.validate_python(evaluations))
    sandbox_libraries = (ctx.diagnostics.get("sandbox") or {}).get("library_versions", {})
    progress.stage("saving")
    return Computed(stored, judged, outcome, reason, ctx.diagnostics, sandbox_libraries)


def sandbox_limits() -> sandbox.Limits:
    """The child's wall-clock limit stays inside the task's soft limit, so the task can record it."""
    soft = settings.CELERY_TASK_SOFT_TIME_LIMIT
    seconds = min(settings.ATTEST_SANDBOX_SECONDS, max(1, soft - 30))
    return sandbox.Limits(
        memory_mb=settings.ATTEST_SANDBOX_MEMORY_MB,
        seconds=seconds,
        file_mb=settings.ATTEST_SANDBOX_FILE_MB,
    )


def _attach_sandbox(ctx: CheckContext, run: CheckRun, artifact, progress: leases.Progress) -> None:
    version = run.model_version
    features = run.config.get("features") or []
    common = {
        "artifact": artifact,
        "artifact_format": version.artifact_format,
        "features": features,
        "allowed_types": SKOPS_ACCEPTED_TYPES,
        "limits": sandbox_limits(),
    }

    def score(frame: pd.DataFrame):
        # P(positive label) through the model's own classes; None (regression) scores the raw output
        scores, report = sandbox.score(frame=frame, positive_label=run.config.get("positive_label"), **common)
        ctx.diagnostics["sandbox"] = report
        return scores

    def explain(
        frame: pd.DataFrame,
        background: pd.DataFrame | None,
        options: dict[str, Any],
        *,
        step: str = "explaining rows",
    ):
        progress.start_step(step, "rows")
        return sandbox.explain(
            frame=frame, background=background, options=options, on_progress=progress.step, **common
        )

    if version.is_bundle:
        raise sandbox.ModelRefused(
            f"{version} is an LLM application bundle: it has no model artifact to load."
        )
    sandbox.refuse_unsafe_format(version.artifact_format)
    if not version.artifact_executable:
        raise sandbox.ModelRefused("The registry marked this artifact not executable; it is never loaded.")
    ctx.score, ctx.explain = score, explain


def _succeed(run_id: int, token: str, computed: Computed) -> str:
    with transaction.atomic():
        run = CheckRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.claim_token != token:
            logger.warning("check run %s was finished or taken over; result discarded", run_id)
            return "lost"
        now = timezone.now()
        run.results = computed.results
        run.result_sha256 = evidence.canonical_sha256(computed.results)
        run.outcome = computed.outcome
        run.outcome_reason = computed.outcome_reason
        run.evaluations = computed.evaluations
        run.diagnostics = computed.diagnostics
        run.library_versions = evidence.library_versions(computed.libraries)
        run.status = RunStatus.SUCCEEDED
        run.finished_at = now
        run.duration_seconds = (now - run.started_at).total_seconds()
        run.lease_expires_at = None
        run.claim_token = ""
        run.progress = {
            "stage": "done",
            "current": run.progress.get("total", 1),
            "total": run.progress.get("total", 1),
        }
        run.save()
        record(
            action="check.succeeded",
            actor=None,
            obj=run,
            after={
                "outcome": run.outcome,
                "result_sha256": run.result_sha256,
                "attempt": run.attempts,
                "duration_seconds": run.duration_seconds,
            },
        )
        if run.plan_id is not None:
            alerts.alert_for_run(run)
    return RunStatus.SUCCEEDED


def _fail(run_id: int, token: str | None, error_type: str, message: str) -> None:
    with transaction.atomic():
        run = CheckRun.objects.select_for_update().get(pk=run_id)
        if run.is_finished or (token is not None and run.claim_token != token):
            return
        leases.fail_locked(run, error_type, message)


def check_run_abandon(*, run_id: int, task_id: str, error_type: str, message: str) -> None:
    """Fail a run whose task gave up (retries exhausted), unless another task has claimed it since."""
    with transaction.atomic():
        run = CheckRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished or run.celery_task_id != task_id:
            return
        leases.fail_locked(run, error_type, message[:MAX_ERROR_CHARS])


def check_runs_reap() -> dict[str, int]:
    """Deal with runs whose lease expired or whose message was lost: the job reaper's check-run part.

    A run whose worker stopped renewing its lease is queued again and its task sent (``check.requeued``),
    or failed (``WorkerLost``) once it has used ``ATTEST_CHECK_MAX_ATTEMPTS``; a run waiting
    ``ATTEST_CHECK_RESEND_SECONDS`` without a claim has its task sent again. A run never stays running.
    """
    return reaper.reap_kind(leases.CHECK)
