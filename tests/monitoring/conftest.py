"""Monitoring fixtures: an isolated media folder, a model with a skops version, reference/current data."""

from __future__ import annotations

import pytest

from monitoring.models import CheckRun
from monitoring.services import runs
from registry.models.datasets import DatasetRole
from tests.monitoring import factories


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings, monkeypatch):
    """Blobs go to a per-test folder; a worker process started by the test inherits it."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    monkeypatch.setenv("ATTEST_MEDIA_ROOT", str(root))
    return root


@pytest.fixture(autouse=True)
def no_alert_task(settings, monkeypatch):
    """Governance's alert task does not exist yet; tests that want it set the setting themselves."""
    settings.ATTEST_ALERT_TASK = ""
    monkeypatch.setenv("ATTEST_ALERT_TASK", "")


@pytest.fixture
def model(maya, credit_risk):
    return factories.make_model(maya, credit_risk)


@pytest.fixture
def version(maya, model):
    return factories.skops_version(maya, model)


@pytest.fixture
def dataset(maya, credit_risk):
    return factories.make_dataset(maya, credit_risk)


@pytest.fixture
def reference(maya, dataset):
    return factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=2), role=DatasetRole.REFERENCE
    )


@pytest.fixture
def current(maya, dataset):
    frame = factories.credit_frame(seed=3, shift=0.5)
    return factories.make_dataset_version(maya, dataset, frame, role=DatasetRole.PRODUCTION_BATCH)


def execute(run: CheckRun) -> CheckRun:
    """Run a queued check in this process, as a worker would, and return it reloaded."""
    runs.check_run_execute(run_id=run.pk, task_id=f"test-{run.pk}")
    run.refresh_from_db()
    return run


def queue(actor, kind, version, *, reference=None, current=None, **config) -> CheckRun:
    return runs.check_run_create(
        actor=actor, kind=kind, version=version, reference=reference, current=current, config=config
    )
