"""Uploading in the browser: model versions, datasets and their versions, evidence documents.

The pages receive files as the API does (hashed while streaming in, capped, the same services), so these
tests check who may upload, what is stored and audited, and that the services' refusals reach the form.
Personas (tests/conftest.py): maya (ml-engineer) and victor (validator) in credit-risk, aaron (auditor),
rita (risk officer), admin; olga (ml-engineer, fraud) is the outsider who must see nothing of credit-risk.
"""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import Dataset, DatasetVersion, ModelVersion
from registry.models.datasets import DatasetRole, ProfileStatus
from registry.services import datasets as dataset_services
from tests.monitoring import factories
from tests.registry.test_onnx_scan import model_bytes
from workflow.models import EvidenceDocument, EvidenceType

pytestmark = pytest.mark.django_db
PROGRESS = {"HTTP_X_ATTEST_UPLOAD": "progress"}


@pytest.fixture
def model(maya, credit_risk):
    return factories.make_model(maya, credit_risk)


@pytest.fixture
def dataset(maya, credit_risk):
    return factories.make_dataset(maya, credit_risk)


@pytest.fixture
def training(maya, dataset):
    return factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=1), role=DatasetRole.TRAINING
    )


@pytest.fixture
def version(maya, model):
    return factories.skops_version(maya, model)


@pytest.fixture
def fraud_training(olga, fraud):
    data = factories.make_dataset(olga, fraud, name="card-transactions")
    return factories.make_dataset_version(olga, data, factories.credit_frame(seed=3))


@pytest.fixture(scope="module")
def artifact() -> bytes:
    return factories.skops_bytes(factories.trained_model())


def signed_in(client, user):
    client.force_login(user)
    return client


def events(action: str):
    return AuditEvent.objects.filter(action=action)


def version_form(content: bytes, name: str = "model.skops", **fields) -> dict:
    return {"artifact": SimpleUploadedFile(name, content), **fields}


def csv_file(frame=None, name: str = "applications.csv") -> SimpleUploadedFile:
    frame = factories.credit_frame(seed=7) if frame is None else frame
    return SimpleUploadedFile(name, factories.csv_bytes(frame), content_type="text/csv")


VERSION_NEW = reverse("model-version-new", args=["credit-scoring"])
DATASET_NEW = reverse("dataset-new")
DATASET_VERSION_NEW = reverse("dataset-version-new", args=["applications"])


def evidence_url(version) -> str:
    return reverse("evidence-new", args=[version.model.name, version.version])


# --- who may upload -------------------------------------------------------------------------------------


def form_urls(version) -> dict[str, str]:
    return {
        "version": VERSION_NEW,
        "dataset": DATASET_NEW,
        "dataset_version": DATASET_VERSION_NEW,
        "evidence": evidence_url(version),
    }


MATRIX = {
    # persona: the forms they may open (the rest answer 403)
    "maya": {"version", "dataset", "dataset_version", "evidence"},
    "admin_user": {"version", "dataset", "dataset_version", "evidence"},
    "victor": {"evidence"},
    "aaron": set(),
    "rita": set(),
}


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_it_opens_each_upload_form_only_to_those_who_may_upload(client, request, persona, version, dataset):
    signed_in(client, request.getfixturevalue(persona))

    for form, url in form_urls(version).items():
        expected = 200 if form in MATRIX[persona] else 403
        assert client.get(url).status_code == expected, (persona, form)


def test_it_answers_404_to_the_outsider_for_credit_risks_upload_forms(
    client, olga, version, dataset, artifact
):
    signed_in(client, olga)

    for name in ("version", "dataset_version", "evidence"):
        assert client.get(form_urls(version)[name]).status_code == 404, name
    assert client.post(VERSION_NEW, version_form(artifact)).status_code == 404
    assert client.post(DATASET_VERSION_NEW, {"file": csv_file()}).status_code == 404
    assert client.get(reverse("dataset-detail", args=["applications"])).status_code == 404
    assert ModelVersion.objects.count() == 1
    assert not DatasetVersion.objects.exists()


@pytest.mark.parametrize("persona", ["victor", "aaron", "rita"])
def test_it_refuses_uploads_from_those_who_may_not_and_stores_nothing(
    client, request, persona, model, dataset, artifact
):
    signed_in(client, request.getfixturevalue(persona))

    assert client.post(VERSION_NEW, version_form(artifact)).status_code == 403
    assert client.post(DATASET_VERSION_NEW, {"file": csv_file()}).status_code == 403
    assert not ModelVersion.objects.exists()
    assert not DatasetVersion.objects.exists()


@pytest.mark.parametrize("persona", ["aaron", "rita"])
def test_it_refuses_evidence_from_readers(client, request, persona, version):
    response = signed_in(client, request.getfixturevalue(persona)).post(
        evidence_url(version),
        {"evidence_type": "data_review", "file": SimpleUploadedFile("memo.md", b"# Memo")},
    )

    assert response.status_code == 403
    assert not EvidenceDocument.objects.exists()


def test_it_sends_anonymous_visitors_to_sign_in(client, version, dataset):
    for url in [
        *form_urls(version).values(),
        reverse("dataset-list"),
        reverse("dataset-detail", args=["applications"]),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next=")


def test_it_checks_the_csrf_token_of_an_upload(maya, model, artifact):
    client = Client(enforce_csrf_checks=True)
    client.force_login(maya)

    refused = client.post(VERSION_NEW, version_form(artifact))
    token = client.get(VERSION_NEW).context["csrf_token"]
    accepted = client.post(VERSION_NEW, {**version_form(artifact), "csrfmiddlewaretoken": str(token)})

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert ModelVersion.objects.count() == 1


# --- model versions -------------------------------------------------------------------------------------


def test_it_uploads_a_version_with_its_metadata_and_lineage(client, maya, model, training, artifact):
    response = signed_in(client, maya).post(
        VERSION_NEW,
        version_form(
            artifact,
            description="First candidate.",
            framework="sklearn",
            source_repository="git@example.com:credit/scoring.git",
            source_commit="abc123",
            run_id="run-7",
            parameters="C=1.0\r\nsolver=lbfgs",
            metrics='{"auc": 0.81}',
            signature='{"inputs": [{"name": "age", "type": "double"}]}',
            tags="stage=candidate",
            training_datasets=[training.pk],
        ),
        follow=True,
    )

    version = ModelVersion.objects.get(model=model)
    assert response.redirect_chain == [(reverse("model-version-detail", args=["credit-scoring", 1]), 302)]
    assert version.artifact_sha256 == hashlib.sha256(artifact).hexdigest()
    assert version.artifact_format == "skops"
    assert version.parameters == {"C": 1.0, "solver": "lbfgs"}
    assert version.metrics == {"auc": 0.81}
    assert version.tags == {"stage": "candidate"}
    assert version.signature == {"inputs": [{"name": "age", "type": "double"}]}
    assert [edge.src_dataset for edge in version.edges_in.filter(kind="trained_on")] == [training]
    body = response.content.decode()
    assert "Uploaded credit-scoring v1: model.skops" in body
    assert training.file_sha256 in body
    (event,) = events("model_version.submitted")
    assert event.actor_username == "maya"
    assert event.after["training_datasets"] == [f"applications:1@sha256:{training.file_sha256}"]


def test_it_returns_the_existing_version_for_the_same_artifact(client, maya, model, artifact):
    signed_in(client, maya).post(VERSION_NEW, version_form(artifact))

    again = client.post(VERSION_NEW, version_form(artifact, description="Again"), follow=True)

    assert again.redirect_chain[-1][0] == reverse("model-version-detail", args=["credit-scoring", 1])
    assert "This artifact is already credit-scoring v1" in again.content.decode()
    assert ModelVersion.objects.count() == 1
    assert events("model_version.submitted").count() == 1


def test_it_answers_the_progress_script_with_where_to_go(client, maya, model, artifact):
    response = signed_in(client, maya).post(VERSION_NEW, version_form(artifact), **PROGRESS)

    assert response.status_code == 200
    assert response.json() == {"location": reverse("model-version-detail", args=["credit-scoring", 1])}
    next_page = client.get(response.json()["location"]).content.decode()
    assert "Uploaded credit-scoring v1" in next_page  # the message waited for the page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"artifact": SimpleUploadedFile("empty.onnx", b"")}, "artifact", "The artifact is empty."),
        ({"sha256": "0" * 64}, "sha256", "not the declared 000"),
        ({"signature": "[1, 2]"}, "signature", "Expected a JSON object."),
        ({"parameters": "C"}, "parameters", "Line 1: write key=value"),
        ({"run_link": "not a link"}, "run_link", "Enter a valid URL."),
    ],
)
def test_it_shows_refusals_on_their_field_and_stores_nothing(
    client, maya, model, artifact, fields, field, message
):
    response = signed_in(client, maya).post(VERSION_NEW, {**version_form(artifact), **fields})

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not ModelVersion.objects.exists()
    assert not events("model_version.submitted").exists()


def test_it_shows_the_same_message_as_the_api_for_a_refused_artifact(client, api, maya, model):
    garbage = model_bytes(initializer_external=True)  # ONNX pointing at data outside the file

    page = signed_in(client, maya).post(VERSION_NEW, version_form(garbage, "model.onnx"))
    answer = api.as_user(maya).post(
        "/api/v1/models/credit-scoring/versions/",
        {"artifact": SimpleUploadedFile("model.onnx", garbage)},
        format="multipart",
    )

    assert page.status_code == answer.status_code == 400
    assert page.context["form"].errors["artifact"] == answer.json()["error"]["fields"]["artifact"]


def test_it_offers_only_visible_datasets_and_refuses_another_teams(
    client, maya, model, training, fraud_training, artifact
):
    signed_in(client, maya)
    offered = [
        value for value, _ in client.get(VERSION_NEW).context["form"].fields["training_datasets"].choices
    ]

    response = client.post(VERSION_NEW, version_form(artifact, training_datasets=[fraud_training.pk]))

    assert training.pk in offered
    assert fraud_training.pk not in offered
    assert response.status_code == 400
    assert "training_datasets" in response.context["form"].errors


def test_it_refuses_an_artifact_over_the_size_cap_before_storing_it(client, maya, model, settings, artifact):
    settings.ATTEST_MAX_ARTIFACT_BYTES = 100

    response = signed_in(client, maya).post(VERSION_NEW, version_form(artifact))

    assert response.status_code == 413
    assert "larger than this page accepts (100\xa0bytes)" in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_it_links_a_parent_version(client, maya, model, version):
    other = factories.skops_bytes(factories.trained_model("boosting"))

    signed_in(client, maya).post(VERSION_NEW, version_form(other, parent=version.pk))

    child = ModelVersion.objects.get(model=model, version=2)
    assert child.edges_in.get(kind="parent").src_version == version


# --- datasets -------------------------------------------------------------------------------------------


def test_it_registers_a_dataset_and_asks_for_its_first_version(client, maya, credit_risk):
    response = signed_in(client, maya).post(
        DATASET_NEW, {"name": "applications", "team": "credit-risk", "title": "Applications"}
    )

    assert response.status_code == 302
    assert response["Location"] == DATASET_VERSION_NEW
    dataset = Dataset.objects.get(name="applications")
    assert (dataset.team, dataset.owner) == (credit_risk, maya)
    assert events("dataset.created").get().actor_username == "maya"


def test_it_shows_the_services_message_for_a_taken_dataset_name(client, maya, dataset):
    response = signed_in(client, maya).post(DATASET_NEW, {"name": "applications", "team": "credit-risk"})

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["Dataset with this Name already exists."]


def test_it_uploads_a_dataset_version_with_its_declarations(client, maya, dataset):
    response = signed_in(client, maya).post(
        DATASET_VERSION_NEW,
        {
            "file": csv_file(),
            "role": "training",
            "target_column": "label",
            "prediction_column": "score",
            "sensitive_columns": "sex, region",
            "favourable_label": "1",
            "description": "Applications 2024.",
        },
        follow=True,
    )

    version = DatasetVersion.objects.get(dataset=dataset)
    assert response.redirect_chain == [(reverse("dataset-detail", args=["applications"]) + "#v1", 302)]
    assert (version.role, version.target_column, version.prediction_column) == ("training", "label", "score")
    assert version.sensitive_columns == ["sex", "region"]
    assert version.favourable_label == 1
    body = response.content.decode()
    assert "Uploaded applications v1: applications.csv" in body
    assert 'id="v1"' in body
    assert "Pending" in body
    assert 'hx-trigger="every 2s"' in body  # the profile status is polled
    assert events("dataset_version.uploaded").get().actor_username == "maya"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"target_column": "outcome"},
            "target_column",
            "The file has no column 'outcome'; its columns are: age,",
        ),
        ({"sensitive_columns": "sex, gender"}, "sensitive_columns", "The file has no column 'gender'"),
        (
            {"target_column": "label", "favourable_label": "good"},
            "favourable_label",
            "'good' is not a value of",
        ),
        ({"file": SimpleUploadedFile("empty.csv", b"")}, "file", "The file is empty."),
    ],
)
def test_it_shows_the_services_refusal_of_a_dataset_version(client, maya, dataset, fields, field, message):
    response = signed_in(client, maya).post(DATASET_VERSION_NEW, {"file": csv_file(), **fields})

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not DatasetVersion.objects.exists()


def test_it_returns_the_existing_dataset_version_for_the_same_file(client, maya, dataset):
    signed_in(client, maya).post(DATASET_VERSION_NEW, {"file": csv_file()})

    again = client.post(DATASET_VERSION_NEW, {"file": csv_file()}, follow=True)

    assert "This file is already applications v1" in again.content.decode()
    assert DatasetVersion.objects.count() == 1


def test_it_lists_datasets_by_scope(client, maya, aaron, olga, dataset, fraud_training):
    mine = signed_in(client, maya).get(reverse("dataset-list")).content.decode()
    everything = signed_in(client, aaron).get(reverse("dataset-list")).content.decode()
    outsider = signed_in(client, olga).get(reverse("dataset-list")).content.decode()

    assert ("applications" in mine, "card-transactions" in mine) == (True, False)
    assert ("applications" in everything, "card-transactions" in everything) == (True, True)
    assert ("applications" in outsider, "card-transactions" in outsider) == (False, True)
    assert 'id="new-dataset"' not in everything


def test_it_shows_a_datasets_versions_with_their_columns_and_profile(client, victor, maya, training):
    dataset_services.dataset_version_profile(version_id=training.pk)

    body = signed_in(client, victor).get(reverse("dataset-detail", args=["applications"])).content.decode()

    for text in ("v1", "Training", "target <code>label</code>", "<code>sex</code>", "Succeeded", "400 rows"):
        assert text in body, text
    assert 'id="upload-dataset-version"' not in body


def test_it_stops_polling_the_profile_once_it_is_done(client, maya, training):
    signed_in(client, maya)
    url = reverse("dataset-version-profile", args=["applications", 1])

    pending = client.get(url)
    dataset_services.dataset_version_profile(version_id=training.pk)
    done = client.get(url)

    assert pending.status_code == 200
    assert "every 2s" in pending.content.decode()
    assert done.status_code == 286
    assert "Succeeded" in done.content.decode()
    training.refresh_from_db()
    assert training.profile_status == ProfileStatus.SUCCEEDED


# --- evidence documents ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["maya", "victor"])
def test_it_adds_evidence_from_the_version_page(client, request, persona, version):
    user = request.getfixturevalue(persona)
    page = signed_in(client, user).get(reverse("model-version-detail", args=["credit-scoring", 1]))
    assert 'id="evidence-form"' in page.content.decode()

    response = client.post(
        evidence_url(version),
        {
            "evidence_type": "data_review",
            "title": "Data review",
            "file": SimpleUploadedFile("memo.md", b"# Memo"),
        },
        follow=True,
    )

    document = EvidenceDocument.objects.get(model_version=version)
    assert (document.title, document.uploaded_by) == ("Data review", user)
    assert "Added &#x27;Data review&#x27; to credit-scoring v1" in response.content.decode()
    assert events("evidence.added").get().actor_username == user.username


def test_it_does_not_offer_the_evidence_form_to_readers(client, aaron, version):
    body = signed_in(client, aaron).get(reverse("model-version-detail", args=["credit-scoring", 1]))

    assert 'id="evidence-form"' not in body.content.decode()


def test_it_says_when_the_document_is_already_attached(client, maya, version):
    signed_in(client, maya)
    data = {"evidence_type": "data_review", "title": "Memo"}
    client.post(evidence_url(version), {**data, "file": SimpleUploadedFile("memo.md", b"# Memo")})

    again = client.post(
        evidence_url(version), {**data, "file": SimpleUploadedFile("copy.md", b"# Memo")}, follow=True
    )

    assert "already attached to credit-scoring v1 as &#x27;Memo&#x27;" in again.content.decode()
    assert EvidenceDocument.objects.count() == 1


def test_it_refuses_an_unknown_evidence_type(client, maya, version):
    response = signed_in(client, maya).post(
        evidence_url(version),
        {"evidence_type": "horoscope", "file": SimpleUploadedFile("memo.md", b"# Memo")},
    )

    assert response.status_code == 400
    assert "evidence_type" in response.context["form"].errors
    assert not EvidenceDocument.objects.exists()


def test_it_names_evidence_types_by_their_title(client, maya, version):
    body = signed_in(client, maya).get(evidence_url(version)).content.decode()

    kind = EvidenceType.objects.get(key="data_review")
    assert f'<option value="data_review">{kind.title}</option>' in body
