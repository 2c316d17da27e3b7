"""Favourable outcome and prohibited features: declared on datasets and models, checked, shown, audited."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import DatasetVersion
from tests.registry.conftest import CSV, LOW_RISK, make_dataset_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_profiling_queue")]

MODELS = reverse("api:model-list")
VERSIONS = reverse("api:dataset-version-list", args=["german-credit"])
TEXT_LABELS = b"age,sex,credit_risk\n25,f,good\n40,m,bad\n33,f,good\n"


def model_url(name="credit-scoring"):
    return reverse("api:model-detail", args=[name])


def upload(client, content: bytes = CSV, **fields):
    file = SimpleUploadedFile("data.csv", content, content_type="text/csv")
    return client.post(VERSIONS, {"file": file, **fields}, format="multipart")


def field_errors(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def test_it_keeps_a_text_label_as_text_and_an_integer_label_as_an_integer(api, dataset, maya):
    text = upload(api.as_user(maya), TEXT_LABELS, target_column="credit_risk", favourable_label="good")
    number = upload(api.as_user(maya), CSV, target_column="label", favourable_label="1")

    assert text.status_code == 201, text.json()
    assert text.json()["favourable_label"] == "good"
    assert number.status_code == 201, number.json()
    assert number.json()["favourable_label"] == 1
    assert DatasetVersion.objects.get(version=2).favourable_label == 1
    detail = api.as_user(maya).get(reverse("api:dataset-version-detail", args=["german-credit", 1])).json()
    assert detail["favourable_label"] == "good"


def test_it_records_the_favourable_label_in_the_upload_audit_event(api, dataset, maya):
    upload(api.as_user(maya), TEXT_LABELS, target_column="credit_risk", favourable_label="good")

    event = AuditEvent.objects.get(action="dataset_version.uploaded")
    assert event.after["favourable_label"] == "good"
    assert event.after["target_column"] == "credit_risk"


@pytest.mark.parametrize(
    ("content", "fields", "expected"),
    [
        (TEXT_LABELS, {"target_column": "credit_risk", "favourable_label": "granted"}, "'bad', 'good'"),
        (CSV, {"target_column": "label", "favourable_label": '"1"'}, "use 1 without quotes"),
        (TEXT_LABELS, {"favourable_label": "good"}, "Declare target_column too"),
        (CSV, {"target_column": "label", "favourable_label": "0.5"}, "integer or a text label"),
        (CSV, {"target_column": "label", "favourable_label": "x" * 201}, "1 to 200 characters"),
    ],
)
def test_it_refuses_a_favourable_label_that_is_not_a_target_value_with_a_400_naming_it(
    api, dataset, maya, content, fields, expected
):
    errors = field_errors(upload(api.as_user(maya), content, **fields))

    assert list(errors) == ["favourable_label"]
    assert expected in errors["favourable_label"][0]
    assert not DatasetVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="dataset_version.uploaded").exists()


def test_it_accepts_a_favourable_label_on_a_batch_whose_outcomes_are_not_known_yet(api, dataset, maya):
    unlabelled = b"age,sex,credit_risk\n25,f,\n40,m,\n"

    response = upload(api.as_user(maya), unlabelled, target_column="credit_risk", favourable_label="good")

    assert response.status_code == 201, response.json()
    assert response.json()["favourable_label"] == "good"


def test_it_shows_none_declared_as_null(api, dataset, maya):
    make_dataset_version(maya, dataset)

    body = api.as_user(maya).get(reverse("api:dataset-version-detail", args=["german-credit", 1])).json()

    assert body["favourable_label"] is None


def test_it_registers_a_model_with_its_favourable_label_and_prohibited_features(api, maya):
    body = {
        "name": "credit-scoring",
        "title": "Credit scoring",
        "team": "credit-risk",
        "tier_answers": LOW_RISK,
        "favourable_label": "good",
        "prohibited_features": ["sex", "foreign_worker", "sex"],
    }

    response = api.as_user(maya).post(MODELS, body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["favourable_label"] == "good"
    assert response.json()["prohibited_features"] == ["sex", "foreign_worker"]
    event = AuditEvent.objects.get(action="model.created")
    assert event.after["favourable_label"] == "good"
    assert event.after["prohibited_features"] == ["sex", "foreign_worker"]


def test_it_changes_and_clears_the_declarations_with_audited_patches(api, model, maya):
    client = api.as_user(maya)
    assert client.get(model_url()).json()["favourable_label"] is None
    assert client.get(model_url()).json()["prohibited_features"] == []

    changed = client.patch(
        model_url(), {"favourable_label": 1, "prohibited_features": ["age"]}, format="json"
    )
    cleared = client.patch(model_url(), {"favourable_label": None}, format="json")

    assert changed.status_code == 200, changed.json()
    assert changed.json()["favourable_label"] == 1
    assert changed.json()["prohibited_features"] == ["age"]
    assert cleared.json()["favourable_label"] is None
    first, second = AuditEvent.objects.filter(action="model.changed").order_by("seq")
    assert first.before == {"favourable_label": None, "prohibited_features": []}
    assert first.after == {"favourable_label": 1, "prohibited_features": ["age"]}
    assert (second.before, second.after) == ({"favourable_label": 1}, {"favourable_label": None})


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"favourable_label": 0.5}, "favourable_label"),
        ({"favourable_label": True}, "favourable_label"),
        ({"favourable_label": ["good"]}, "favourable_label"),
        ({"favourable_label": ""}, "favourable_label"),
        ({"prohibited_features": "sex"}, "prohibited_features"),
        ({"prohibited_features": ["sex", ""]}, "prohibited_features.1"),
        ({"prohibited_features": ["x"] * 201}, "prohibited_features"),
        ({"prohibited_features": ["x" * 201]}, "prohibited_features.0"),
    ],
)
def test_it_refuses_bad_declarations_with_a_400_naming_the_field(api, model, maya, patch, field):
    errors = field_errors(api.as_user(maya).patch(model_url(), patch, format="json"))

    assert field in errors
    assert not AuditEvent.objects.filter(action="model.changed").exists()


def test_it_lets_only_the_team_change_the_declarations(api, model, olga, victor, aaron):
    patch = {"favourable_label": "good"}

    assert api.as_user(olga).patch(model_url(), patch, format="json").status_code == 404
    for reader in (victor, aaron):
        assert api.as_user(reader).patch(model_url(), patch, format="json").status_code == 403


def test_it_shows_the_declarations_on_the_model_and_version_pages(client, maya, credit_risk):
    from registry.services import inventory
    from tests.registry.conftest import make_dataset, make_version

    model = inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="credit-scoring",
        title="Credit scoring",
        tier_answers=LOW_RISK,
        favourable_label="good",
        prohibited_features=["sex", "age"],
    )
    data = make_dataset_version(
        maya,
        make_dataset(maya, credit_risk),
        TEXT_LABELS,
        target_column="credit_risk",
        sensitive_columns=["sex"],
        favourable_label="good",
    )
    make_version(maya, model, training_datasets=[data])
    client.force_login(maya)

    model_page = client.get(reverse("model-detail", args=["credit-scoring"])).content.decode()
    version_page = client.get(reverse("model-version-detail", args=["credit-scoring", 1])).content.decode()

    assert '<dd id="favourable-label"><code>good</code>' in model_page
    assert "<code>sex</code>, <code>age</code>" in model_page
    assert "target <code>credit_risk</code>; favourable outcome <code>good</code>" in version_page
    assert "sensitive <code>sex</code>" in version_page
