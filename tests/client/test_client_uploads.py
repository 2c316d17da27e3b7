"""The client's uploads send their fields as the API's JSON ``metadata`` part beside the streamed file,
against a live server: typed values arrive typed, the declared hash is checked, errors carry the field."""

from __future__ import annotations

import hashlib

import pytest
from attest_client import ApiError, Client

from registry.models import DatasetVersion, ModelVersion
from tests.registry.conftest import CSV, LOW_RISK
from workflow.models import EvidenceDocument

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(api_server, maya_token, credit_risk, maya):
    with Client(api_server, maya_token) as connected:
        connected.model_register("pd-meta", "credit-risk", "PD", LOW_RISK)
        connected.dataset_create("credit-data", "credit-risk")
        yield connected


def test_a_dataset_upload_sends_lists_and_the_label_as_the_form_read_them(client, tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(CSV)
    version = client.dataset_upload(
        "credit-data",
        data,
        role="training",
        target_column="label",
        sensitive_columns=("sex", "age"),
        favourable_label="1",  # the CLI's text: the integer 1, as the older form read it
    )
    stored = DatasetVersion.objects.get(dataset__name="credit-data", version=version.version)
    assert stored.file_sha256 == hashlib.sha256(CSV).hexdigest()
    assert (stored.role, stored.sensitive_columns, stored.favourable_label) == ("training", ["sex", "age"], 1)


def test_a_version_upload_sends_objects_as_objects(client, tmp_path):
    client.dataset_upload("credit-data", _csv(tmp_path))
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"model bytes")
    version = client.version_upload(
        "pd-meta",
        artifact,
        tags={"stage": "ci"},
        metrics={"auc": 0.8},
        training_datasets=["credit-data:1"],
        run_id="r-1",
    )
    stored = ModelVersion.objects.get(model__name="pd-meta", version=version.version)
    assert (stored.tags, stored.metrics, stored.run_id) == ({"stage": "ci"}, {"auc": 0.8}, "r-1")
    assert stored.artifact_sha256 == hashlib.sha256(b"model bytes").hexdigest()


def test_an_evidence_upload_names_its_version_in_the_metadata(client, tmp_path):
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"model bytes")
    client.version_upload("pd-meta", artifact)
    document = tmp_path / "review.md"
    document.write_text("# Review\n")
    body = client.evidence_upload("pd-meta", 1, "data_review", document, title="Review")
    assert (body["model"], body["version"], body["title"]) == ("pd-meta", 1, "Review")
    assert EvidenceDocument.objects.get().sha256 == body["sha256"]


def test_a_refused_field_in_the_metadata_is_an_error_naming_it(client, tmp_path):
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"model bytes")
    with pytest.raises(ApiError) as refused:
        client.version_upload("pd-meta", artifact, tags={"stage": 1})
    assert refused.value.status == 400
    assert list(refused.value.fields) == ["tags"]
    assert not ModelVersion.objects.filter(model__name="pd-meta").exists()


def _csv(tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(CSV)
    return data
