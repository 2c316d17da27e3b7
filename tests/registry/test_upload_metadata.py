"""Uploads with their fields as one JSON ``metadata`` part beside the file (issue 15): the same closed,
typed Input as the older per-field form, never both, and nothing written when the part is refused."""

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import DatasetVersion, ModelVersion
from tests.registry.conftest import CSV, make_dataset_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_profiling_queue")]

VERSIONS = reverse("api:model-version-list", args=["credit-scoring"])
DATASET_VERSIONS = reverse("api:dataset-version-list", args=["german-credit"])


def json_part(value) -> SimpleUploadedFile:
    """The part as ``curl -F metadata=@meta.json;type=application/json`` sends it: a file part."""
    text = value if isinstance(value, str | bytes) else json.dumps(value)
    raw = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile("meta.json", raw, content_type="application/json")


def upload_version(client, metadata, content: bytes = b"model bytes", **form):
    artifact = SimpleUploadedFile("model.onnx", content, content_type="application/octet-stream")
    return client.post(VERSIONS, {"artifact": artifact, "metadata": metadata, **form}, format="multipart")


def upload_dataset(client, metadata, content: bytes = CSV, **form):
    file = SimpleUploadedFile("data.csv", content, content_type="text/csv")
    return client.post(DATASET_VERSIONS, {"file": file, "metadata": metadata, **form}, format="multipart")


def refused_fields(response) -> list[str]:
    assert response.status_code == 400, response.content
    return list(response.json()["error"]["fields"])


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()]


def test_it_reads_a_versions_fields_from_the_json_metadata_part(api, model, maya, dataset, media_root):
    make_dataset_version(maya, dataset, role="training")
    client = api.as_user(maya)
    assert upload_version(client, json_part({}), b"v1").status_code == 201
    content = b"v2 bytes"
    metadata = {
        "sha256": hashlib.sha256(content).hexdigest(),
        "run_id": "abc123",
        "tags": {"stage": "ci"},
        "signature": {"inputs": [{"name": "age", "type": "long"}]},
        "parameters": {"max_depth": 4},
        "metrics": {"auc": 0.77},
        "training_datasets": ["german-credit:1"],
        "validation_datasets": ["german-credit"],
        "parent": "1",
    }
    response = upload_version(client, json_part(metadata), content)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == 2
    assert body["artifact"]["sha256"] == metadata["sha256"]
    assert (body["run_id"], body["tags"], body["metrics"]) == ("abc123", {"stage": "ci"}, {"auc": 0.77})
    assert body["parameters"] == {"max_depth": 4}
    assert body["signature"]["inputs"][0]["name"] == "age"
    assert [d["dataset"] for d in body["training_datasets"]] == ["german-credit"]
    assert body["validation_datasets"][0]["version"] == 1
    assert body["parent"] == {"model": "credit-scoring", "version": 1}
    event = AuditEvent.objects.filter(action="model_version.submitted").latest("seq")
    assert event.after["artifact_sha256"] == metadata["sha256"]


def test_it_also_reads_the_metadata_part_sent_as_a_text_field(api, model, maya):
    response = upload_version(api.as_user(maya), json.dumps({"tags": {"stage": "ci"}}))
    assert response.status_code == 201, response.json()
    assert response.json()["tags"] == {"stage": "ci"}


def test_it_still_takes_the_older_per_field_form(api, model, maya):
    artifact = SimpleUploadedFile("model.bin", b"bytes")
    form = {"artifact": artifact, "tags": '{"stage": "ci"}', "run_id": "r1"}
    response = api.as_user(maya).post(VERSIONS, form, format="multipart")
    assert response.status_code == 201, response.json()
    assert (response.json()["tags"], response.json()["run_id"]) == ({"stage": "ci"}, "r1")


@pytest.mark.parametrize(
    ("metadata", "field", "message"),
    [
        ("{not json", "metadata", "Not valid JSON"),
        (b"\xff\xfe{}", "metadata", "UTF-8"),
        ("[1, 2]", "metadata", "not an array"),
        ("null", "metadata", "not null"),
        ('"tags"', "metadata", "not a string"),
        ({"tag": {"stage": "ci"}}, "tag", "Unknown field"),
        ({"artifact": "x"}, "artifact", "Unknown field"),
        ({"metadata": {}}, "metadata", "Unknown field"),
        ({"tags": '{"stage": "ci"}'}, "tags", "object of strings"),
        ({"tags": {"stage": 1}}, "tags", "object of strings"),
        ({"metrics": [0.7]}, "metrics", "JSON object"),
        ({"run_id": 7}, "run_id", "Must be a string, not a number."),
        ({"training_datasets": "german-credit"}, "training_datasets", "Must be an array"),
        ({"training_datasets": [1]}, "training_datasets", "0: Must be a string"),
        ({"tags": {"stage": "a\u0000b"}}, "tags.stage", ""),
        ({"sha256": "0" * 64}, "sha256", ""),
    ],
)
def test_it_refuses_bad_metadata_naming_the_field_and_writes_nothing(
    api, model, maya, media_root, metadata, field, message
):
    part = json_part(metadata)
    response = upload_version(api.as_user(maya), part)
    assert refused_fields(response) == [field]
    assert message in " ".join(response.json()["error"]["fields"][field])
    assert not ModelVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="model_version.submitted").exists()
    assert stored_files(media_root) == []


def test_it_refuses_metadata_beside_the_older_form_fields(api, model, maya, media_root):
    response = upload_version(api.as_user(maya), json_part({"run_id": "a"}), run_id="b", description="c")
    assert refused_fields(response) == ["metadata"]
    assert "description, run_id" in response.json()["error"]["fields"]["metadata"][0]
    assert not ModelVersion.objects.exists()
    assert stored_files(media_root) == []


def test_it_refuses_two_metadata_parts(api, model, maya):
    response = upload_version(api.as_user(maya), [json_part({}), json_part({})])
    assert refused_fields(response) == ["metadata"]
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize("as_file", [True, False])
def test_it_refuses_a_metadata_part_over_the_json_body_cap_with_413(api, model, maya, settings, as_file):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    metadata = {"description": "x" * 2000}
    response = upload_version(api.as_user(maya), json_part(metadata) if as_file else json.dumps(metadata))
    assert response.status_code == 413, response.content
    assert not ModelVersion.objects.exists()


def test_it_still_wants_the_artifact_beside_the_metadata(api, model, maya):
    response = api.as_user(maya).post(VERSIONS, {"metadata": json_part({})}, format="multipart")
    assert refused_fields(response) == ["artifact"]


def test_it_checks_permissions_before_reading_the_metadata(api, model, aaron, olga):
    assert upload_version(api.as_user(aaron), "{not json").status_code == 403
    assert upload_version(api.as_user(olga), "{not json").status_code == 404


def test_it_reads_a_dataset_versions_fields_from_the_metadata_part(api, dataset, maya):
    metadata = {
        "sha256": hashlib.sha256(CSV).hexdigest(),
        "role": "training",
        "target_column": "label",
        "prediction_column": "score",
        "sensitive_columns": ["sex", "age"],
        "favourable_label": 1,
        "description": "German credit, 2024",
    }
    response = upload_dataset(api.as_user(maya), json_part(metadata))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["role"], body["target_column"], body["sensitive_columns"]) == (
        "training",
        "label",
        ["sex", "age"],
    )
    assert body["favourable_label"] == 1
    assert body["description"] == "German credit, 2024"


def test_a_json_string_label_stays_text_in_the_metadata_part(api, dataset, maya):
    """In a form field "1" is read as the integer 1; in JSON a string is a string, which this file's
    numeric target column does not hold."""
    metadata = {"target_column": "label", "favourable_label": "1"}
    response = upload_dataset(api.as_user(maya), json_part(metadata))
    assert refused_fields(response) == ["favourable_label"]
    assert "without quotes" in response.json()["error"]["fields"]["favourable_label"][0]
    assert not DatasetVersion.objects.exists()


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"sensitive_columns": "sex"}, "sensitive_columns"),
        ({"role": 1}, "role"),
        ({"role": "nonsense"}, "role"),
        ({"favourable_label": 1.5}, "favourable_label"),
        ({"file": "x"}, "file"),
        ("[]", "metadata"),
    ],
)
def test_it_refuses_bad_dataset_metadata_and_writes_nothing(api, dataset, maya, media_root, metadata, field):
    assert refused_fields(upload_dataset(api.as_user(maya), json_part(metadata))) == [field]
    assert not DatasetVersion.objects.exists()
    assert stored_files(media_root) == []


def test_it_refuses_dataset_metadata_beside_form_fields(api, dataset, maya):
    response = upload_dataset(api.as_user(maya), json_part({"role": "training"}), role="validation")
    assert refused_fields(response) == ["metadata"]
    assert not DatasetVersion.objects.exists()
