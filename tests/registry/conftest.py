"""Registry fixtures: models, versions and datasets made through services (blobs: ``media_root``, tests/conftest.py)."""

from __future__ import annotations

import io

import pytest

from registry import storage
from registry.services import datasets, inventory, versions
from tests.conftest import media_root  # noqa: F401  (tests/hardening/conftest.py still imports it from here)

LOW_RISK = {"materiality": "low", "complexity": "low", "reliance": "low", "regulatory_exposure": "low"}
HIGH_RISK = {"materiality": "high", "complexity": "high", "reliance": "high", "regulatory_exposure": "high"}
CSV = b"age,income,sex,label,score\n25,1000,f,1,0.8\n40,2500,m,0,0.2\n33,1800,f,0,0.4\n"


def make_model(actor, team, name="credit-scoring", **fields):
    fields.setdefault("tier_answers", LOW_RISK)
    return inventory.model_create(
        actor=actor, team=team, name=name, title=name.replace("-", " ").title(), **fields
    )


def upload_of(content: bytes, filename: str = "model.bin") -> storage.Upload:
    return storage.upload_from_file(io.BytesIO(content), filename)


def make_version(actor, model, content: bytes = b"artifact-bytes", **metadata):
    meta = versions.VersionMetadata(**metadata)
    version, _ = versions.model_version_submit(
        actor=actor, model=model, upload=upload_of(content), metadata=meta
    )
    return version


def make_dataset(actor, team, name="german-credit", **fields):
    return datasets.dataset_create(actor=actor, team=team, name=name, **fields)


def make_dataset_version(actor, dataset, content: bytes = CSV, filename: str = "data.csv", **fields):
    version, _ = datasets.dataset_version_upload(
        actor=actor, dataset=dataset, upload=upload_of(content, filename), **fields
    )
    return version


@pytest.fixture
def model(maya, credit_risk):
    return make_model(maya, credit_risk)


@pytest.fixture
def fraud_model(olga, fraud):
    return make_model(olga, fraud, name="card-fraud")


@pytest.fixture
def dataset(maya, credit_risk):
    return make_dataset(maya, credit_risk)


@pytest.fixture
def no_profiling_queue(monkeypatch) -> list[int]:
    """Uploads queue profiling on commit; here nothing is sent to a broker (see test_profiling): the list
    holds the ids of the dataset versions that would have been queued."""
    queued: list[int] = []
    monkeypatch.setattr(datasets, "_queue_profile", queued.append)
    return queued
