"""A tier-1 model version with everything the tier-1 policy asks for: real check runs of every kind,
datasets with lineage, and the three required evidence documents."""

from __future__ import annotations

import hashlib
import io
import uuid

import numpy as np
import pytest
import rfc8785
from django.utils import timezone

from monitoring.models import CheckRun
from monitoring.services import runs
from monitoring.thresholds import resolve_thresholds
from registry import storage
from registry.models.datasets import DatasetRole
from tests.monitoring import factories
from workflow.services import evidence as evidence_services

HIGH_RISK = {"materiality": "high", "complexity": "high", "reliance": "high", "regulatory_exposure": "high"}
TIER1_EVIDENCE = ("conceptual_soundness_memo", "data_review", "model_documentation")
CHECK_KINDS = ("data_quality", "performance", "fairness", "drift", "explainability")


def fair_frame(rows: int = 600, seed: int = 0):
    """Synthetic applicants with a strong, sex-blind signal: the tier-1 checks pass on them."""
    frame = factories.credit_frame(rows, seed=seed)
    rng = np.random.default_rng(seed + 100)
    frame["sex"] = rng.choice(["f", "m"], rows)
    logit = 0.15 * (frame["age"] - 40) + 2.5 * (np.log(frame["income"]) - 8)
    probability = 1 / (1 + np.exp(-logit))
    frame["label"] = (rng.random(rows) < probability).astype(int)
    frame["score"] = probability.round(4)
    return frame


@pytest.fixture
def tier1_model(maya, credit_risk):
    """A tier-1 model handed to validation (approvals are requested for models in validation or later)."""
    from registry.services import inventory

    model = inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="credit-scoring",
        title="Credit scoring",
        tier_answers=HIGH_RISK,
        purpose="Score applications",
        intended_use="Retail credit",
    )
    return to_validation(maya, model)


def to_validation(actor, model):
    """Move a new model from draft to in validation, as its team does before asking for approval."""
    from registry.services import inventory

    for status in ("in_development", "in_validation"):
        model = inventory.model_change_status(actor=actor, model=model, status=status, reason="test setup")
    return model


def reviewed(model, *, on, valid_until=None):
    """Record a completed periodic review's dates on ``model`` as the review workflow does."""
    from django.db import transaction

    from registry.models import RegisteredModel
    from registry.services import inventory

    with transaction.atomic():
        locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        return inventory.model_review_recorded(
            model=locked, reviewed_on=on, valid_until=valid_until, review_id=0
        )


@pytest.fixture
def datasets(maya, credit_risk):
    dataset = factories.make_dataset(maya, credit_risk)
    training = factories.make_dataset_version(maya, dataset, fair_frame(seed=1), role=DatasetRole.TRAINING)
    validation = factories.make_dataset_version(
        maya, dataset, fair_frame(seed=2), role=DatasetRole.VALIDATION
    )
    return training, validation


@pytest.fixture
def version(maya, tier1_model, datasets):
    training, validation = datasets
    return factories.make_version(
        maya,
        tier1_model,
        factories.skops_bytes(factories.trained_model("logistic", training_frame(training))),
        training_datasets=[training],
        validation_datasets=[validation],
    )


def training_frame(version):
    import pandas as pd

    with storage.open_blob(version.file_key) as handle:
        return pd.read_csv(handle)


def run_check(actor, kind, version, *, reference=None, current=None, **config):
    run = runs.check_run_create(
        actor=actor, kind=kind, version=version, reference=reference, current=current, config=config
    )
    runs.check_run_execute(run_id=run.pk, task_id=f"test-{run.pk}")
    run.refresh_from_db()
    return run


def run_all_checks(actor, version, datasets):
    training, validation = datasets
    return {
        "data_quality": run_check(actor, "data_quality", version, reference=training, current=validation),
        "performance": run_check(actor, "performance", version, current=validation),
        "fairness": run_check(actor, "fairness", version, current=validation),
        "drift": run_check(actor, "drift", version, reference=training, current=validation),
        "explainability": run_check(actor, "explainability", version, reference=training, current=validation),
    }


def attach_evidence(actor, version, kinds=TIER1_EVIDENCE, content: str = ""):
    for kind in kinds:
        text = content or f"{kind} for {version}: reviewed and accepted."
        content_bytes = text.encode()
        upload = storage.upload_from_file(io.BytesIO(content_bytes), f"{kind}.txt")
        evidence_services.evidence_add(
            actor=actor, version=version, evidence_type=kind, title=kind, upload=upload
        )


@pytest.fixture
def checked_runs(maya, version, datasets):
    return run_all_checks(maya, version, datasets)


@pytest.fixture
def ready_version(maya, version, checked_runs):
    """A version that meets every prerequisite of the tier-1 policy."""
    attach_evidence(maya, version)
    return version


def record_run(actor, version, kind, *, outcome="pass", finished_at=None, plan=None):
    """A finished run stored as a worker would leave it, without computing anything.

    The thresholds are resolved exactly as for a real run (so the policy's binding bounds are recorded),
    and the result hash is unique, so a second recorded run of a kind is new evidence. For tests about
    the workflow, where the numbers do not matter.
    """
    run = CheckRun(
        kind=kind,
        model_version=version,
        artifact_sha256=version.artifact_sha256,
        requested_by=actor,
        plan=plan,
    )
    run.thresholds = resolve_thresholds(run)
    run.results = {"recorded": kind, "outcome": outcome, "nonce": uuid.uuid4().hex}
    run.result_sha256 = hashlib.sha256(rfc8785.dumps(run.results)).hexdigest()
    run.status, run.outcome = "succeeded", outcome
    run.outcome_reason = "" if outcome == "pass" else f"recorded {outcome} outcome"
    run.started_at = run.finished_at = finished_at or timezone.now()
    run.save()
    return run


def record_all_runs(actor, version):
    return {kind: record_run(actor, version, kind) for kind in CHECK_KINDS}


@pytest.fixture
def quick_version(maya, tier1_model):
    """A tier-1 version without datasets: cheap, for tests where check numbers do not matter."""
    return factories.skops_version(maya, tier1_model)


@pytest.fixture
def quick_ready_version(maya, quick_version):
    """``quick_version`` with a recorded passing run of every kind and the tier-1 evidence."""
    record_all_runs(maya, quick_version)
    attach_evidence(maya, quick_version)
    return quick_version


@pytest.fixture
def eager_tasks(settings):
    """Tasks queued on commit run in line, and email goes to Django's in-memory outbox."""
    from config.celery_app import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
