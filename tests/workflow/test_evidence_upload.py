"""POST /api/v1/evidence/ with the document's fields as one JSON ``metadata`` part beside the file, or
as the older per-field form; never both, and nothing written when the fields are refused."""

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from workflow.models import EvidenceDocument

pytestmark = pytest.mark.django_db

EVIDENCE = reverse("api:evidence-list")
DOCUMENT = b"# Data review\n\nThe training data was reviewed and accepted.\n"


def post(client, **parts):
    file = SimpleUploadedFile("review.md", DOCUMENT, content_type="text/markdown")
    return client.post(EVIDENCE, {"file": file, **parts}, format="multipart")


def json_part(value) -> SimpleUploadedFile:
    text = value if isinstance(value, str) else json.dumps(value)
    return SimpleUploadedFile("meta.json", text.encode(), content_type="application/json")


def test_it_attaches_a_document_described_by_the_metadata_part(api, maya, quick_version):
    metadata = {"model": "credit-scoring", "version": 1, "evidence_type": "data_review", "title": "Review"}
    response = post(api.as_user(maya), metadata=json_part(metadata))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["model"], body["version"], body["evidence_type"]) == ("credit-scoring", 1, "data_review")
    assert body["title"] == "Review"
    assert body["sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    assert AuditEvent.objects.filter(action__startswith="evidence.").count() == 1


def test_it_takes_a_whole_reference_in_the_metadata_part(api, maya, quick_version):
    metadata = {"model": "credit-scoring:1", "evidence_type": "data_review"}
    response = post(api.as_user(maya), metadata=json.dumps(metadata))  # a text part, not a file part
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 1


def test_it_still_takes_the_older_per_field_form(api, maya, quick_version):
    response = post(api.as_user(maya), model="credit-scoring", version="1", evidence_type="data_review")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ("not json", "metadata"),
        ('["credit-scoring", 1]', "metadata"),
        ({"model": "credit-scoring", "version": 1, "evidence_type": "data_review", "kind": "x"}, "kind"),
        ({"model": "credit-scoring", "version": "1", "evidence_type": "data_review"}, "version"),
        ({"model": "credit-scoring", "version": 1, "evidence_type": ["data_review"]}, "evidence_type"),
        ({"model": "credit-scoring", "version": 1}, "evidence_type"),
        ({"model": "credit-scoring", "version": 1, "evidence_type": "data_review", "file": "x"}, "file"),
    ],
)
def test_it_refuses_bad_metadata_naming_the_field(api, maya, quick_version, metadata, field):
    response = post(api.as_user(maya), metadata=json_part(metadata))
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [field]
    assert not EvidenceDocument.objects.exists()


def test_it_refuses_metadata_beside_the_older_form_fields(api, maya, quick_version):
    metadata = {"model": "credit-scoring", "version": 1, "evidence_type": "data_review"}
    response = post(api.as_user(maya), metadata=json_part(metadata), title="Also a form field")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["metadata"]
    assert "title" in response.json()["error"]["fields"]["metadata"][0]
    assert not EvidenceDocument.objects.exists()


def test_it_hides_a_version_the_caller_may_not_see_named_in_the_metadata(api, olga, quick_version):
    metadata = {"model": "credit-scoring", "version": 1, "evidence_type": "data_review"}
    response = post(api.as_user(olga), metadata=json_part(metadata))
    assert response.status_code == 404, response.content
    assert not EvidenceDocument.objects.exists()


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", None])
def test_an_empty_body_is_a_400_naming_the_missing_fields(api, maya, content_type):
    extra = {"content_type": content_type} if content_type else {}
    response = api.as_user(maya).generic("POST", EVIDENCE, b"", **extra)
    assert response.status_code == 400, response.content
    assert {"model", "evidence_type", "file"} <= set(response.json()["error"]["fields"])
