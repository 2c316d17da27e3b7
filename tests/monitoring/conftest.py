"""Monitoring fixtures: a model with a skops version, reference/current data (blobs: tests/conftest.py)."""

from __future__ import annotations

import pytest

from monitoring.models import CheckRun
from monitoring.services import runs
from registry.models.datasets import DatasetRole
from tests.monitoring import factories


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
