"""The registry's permission matrix for grantees: olga (ML engineer, team fraud) granted credit-scoring.

She sees the granted model, its versions, downloads, lineage and aliases, and her own team's models,
never pd-retail (credit-risk's other model) nor credit-risk itself; a view grant reads, a change grant
edits, uploads and moves aliases; neither lets her register models or datasets in credit-risk. A grant on
a dataset does the same for the dataset and its versions.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Grant
from accounts.services import grants
from registry.services.versions import model_alias_set
from tests.registry.conftest import CSV, LOW_RISK, make_dataset_version, make_model, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_profiling_queue")]


def url(name: str, *args) -> str:
    return reverse(f"api:{name}", args=args)


def grant(admin, user, obj, level: str) -> None:
    Grant.objects.filter(user=user).delete()
    grants.grant_create(actor=admin, subject=user, obj=obj, level=level, reason="Cross-team work.")


def upload_version(client, content: bytes = b"olga's artifact"):
    artifact = SimpleUploadedFile("model.bin", content)
    return client.post(
        url("model-version-list", "credit-scoring"), {"artifact": artifact}, format="multipart"
    )


def upload_dataset_version(client):
    file = SimpleUploadedFile("data.csv", CSV + b"52,3100,m,1,0.7\n", content_type="text/csv")
    return client.post(url("dataset-version-list", "german-credit"), {"file": file}, format="multipart")


@pytest.fixture
def inventory(model, fraud_model, maya, credit_risk):
    make_model(maya, credit_risk, name="pd-retail")
    version = make_version(maya, model)
    model_alias_set(actor=maya, model=model, alias="champion", version=version)
    return model


def test_a_view_grant_shows_the_model_and_its_versions_and_nothing_else_of_the_team(
    api, inventory, admin_user, olga
):
    grant(admin_user, olga, inventory, "view")
    client = api.as_user(olga)
    listed = [item["name"] for item in client.get(url("model-list")).json()["results"]]
    assert listed == ["card-fraud", "credit-scoring"]
    readable = [
        url("model-detail", "credit-scoring"),
        url("model-version-list", "credit-scoring"),
        url("model-version-detail", "credit-scoring", 1),
        url("model-version-download", "credit-scoring", 1),
        url("model-version-lineage", "credit-scoring", 1),
        url("model-alias-list", "credit-scoring"),
        url("model-alias-detail", "credit-scoring", "champion"),
    ]
    assert [client.get(path).status_code for path in readable] == [200] * len(readable)
    assert client.get(url("model-detail", "pd-retail")).status_code == 404
    assert client.get(url("team-detail", "credit-risk")).status_code == 404


def test_a_view_grant_refuses_every_write_with_403(api, inventory, admin_user, olga):
    grant(admin_user, olga, inventory, "view")
    client = api.as_user(olga)
    alias = url("model-alias-detail", "credit-scoring", "champion")
    patch = {"description": "Edited by olga."}
    assert client.patch(url("model-detail", "credit-scoring"), patch, format="json").status_code == 403
    assert upload_version(client).status_code == 403
    assert client.put(alias, {"version": 1}, format="json").status_code == 403


def test_a_change_grant_edits_uploads_and_moves_aliases_as_the_team_would(api, inventory, admin_user, olga):
    grant(admin_user, olga, inventory, "change")
    client = api.as_user(olga)
    patch = {"description": "Edited by olga."}
    assert client.patch(url("model-detail", "credit-scoring"), patch, format="json").status_code == 200
    assert upload_version(client).status_code == 201
    alias = url("model-alias-detail", "credit-scoring", "champion")
    assert client.put(alias, {"version": 2}, format="json").status_code == 200


def test_no_grant_registers_models_or_datasets_in_the_owning_team(api, inventory, admin_user, olga):
    grant(admin_user, olga, inventory, "change")
    client = api.as_user(olga)
    model = {"name": "pd-sme", "title": "PD SME", "team": "credit-risk", "tier_answers": LOW_RISK}
    dataset = {"name": "sme-book", "team": "credit-risk"}
    assert client.post(url("model-list"), model, format="json").status_code == 400
    assert client.post(url("dataset-list"), dataset, format="json").status_code == 400


def test_a_dataset_grant_covers_the_dataset_and_its_versions(api, dataset, maya, admin_user, olga):
    make_dataset_version(maya, dataset)
    client = api.as_user(olga)
    readable = [
        url("dataset-detail", "german-credit"),
        url("dataset-version-list", "german-credit"),
        url("dataset-version-detail", "german-credit", 1),
        url("dataset-version-download", "german-credit", 1),
        url("dataset-version-lineage", "german-credit", 1),
    ]
    assert [client.get(path).status_code for path in readable] == [404] * len(readable)

    grant(admin_user, olga, dataset, "view")
    assert [item["name"] for item in client.get(url("dataset-list")).json()["results"]] == ["german-credit"]
    assert [client.get(path).status_code for path in readable] == [200] * len(readable)
    assert upload_dataset_version(client).status_code == 403

    grant(admin_user, olga, dataset, "change")
    assert upload_dataset_version(client).status_code == 201


def test_a_model_grant_does_not_open_the_team_s_datasets(api, inventory, dataset, admin_user, olga):
    grant(admin_user, olga, inventory, "change")
    assert api.as_user(olga).get(url("dataset-detail", "german-credit")).status_code == 404
