"""Checks name their model version and datasets in the one reference syntax (registry/references.py).

GIVEN a model with a version aliased `champion` and a dataset with a reference and a current version
WHEN a check is requested with `models:/…` or `name:version` for the model, or a bare dataset name
THEN it runs on the version and dataset versions named (a bare dataset name is its newest version, as
on version upload); a reference in no accepted form is a 400 listing the forms, and `version` next to a
versioned reference is a 400.
"""

import pytest
from django.urls import reverse

from tests.factories import records as rows

pytestmark = pytest.mark.django_db
LIST = reverse("api:check-run-list")


def post(api, user, **body):
    return api.as_user(user).post(LIST, {"kind": "drift", **body}, format="json")


@pytest.mark.parametrize(
    "form", ["models:/{name}/{number}", "models:/{name}@champion", "{name}:{number}", "{name}"]
)
def test_a_check_takes_every_model_form(api, maya, version, reference, current, form):
    rows.ModelAliasFactory(version=version, name="champion")
    response = post(
        api,
        maya,
        model=form.format(name=version.model.name, number=version.version),
        reference_dataset=f"{reference.dataset.name}:{reference.version}",
        current_dataset=f"{current.dataset.name}:{current.version}",
    )

    assert response.status_code == 202, response.json()
    assert (response.json()["model"], response.json()["version"]) == (version.model.name, version.version)


def test_a_bare_dataset_name_is_its_newest_version(api, maya, version, reference, current):
    response = post(
        api,
        maya,
        model=version.model.name,
        version=version.version,
        reference_dataset=f"{reference.dataset.name}:{reference.version}",
        current_dataset=current.dataset.name,
    )

    assert response.status_code == 202, response.json()
    assert response.json()["current_dataset"]["version"] == current.version  # made after the reference


def test_a_reference_in_no_accepted_form_is_a_400_listing_the_forms(api, maya, version, reference):
    response = post(api, maya, model="models:/x", reference_dataset="models:/german-credit/1")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "models:/name@alias" in fields["model"][0]

    response = post(api, maya, model=version.model.name, version=1, reference_dataset="a b")
    assert "name:version" in response.json()["error"]["fields"]["reference_dataset"][0]


def test_version_beside_a_versioned_reference_is_a_400(api, maya, version):
    response = post(api, maya, model=f"{version.model.name}:{version.version}", version=version.version)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["model"]


def test_an_alias_that_does_not_exist_is_answered_as_a_missing_version(
    api, maya, version, reference, current
):
    response = post(api, maya, model=f"models:/{version.model.name}@nobody")

    assert response.status_code == 400
    assert "No model version" in response.json()["error"]["fields"]["model"][0]
