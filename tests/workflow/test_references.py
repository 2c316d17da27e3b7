"""The gate, approvals, evidence and findings name a model version in the one reference syntax.

GIVEN a version with a current production approval, aliased `champion`
WHEN CI asks the gate with `models:/name@champion`, `models:/name/1` or `name:1`
THEN the answer is about that version; a malformed reference is a 400 listing the accepted forms, and a
bare name on a finding still means the model itself (a finding's version is optional).
"""

import pytest
from django.urls import reverse

from tests.factories import records as rows
from tests.workflow.helpers import approved_request

pytestmark = pytest.mark.django_db
GATE = reverse("api:gate")


@pytest.mark.parametrize(
    "form", ["models:/{name}@champion", "models:/{name}/{number}", "{name}:{number}", "{name}"]
)
def test_the_gate_takes_every_reference_form(api, maya, quick_version, form):
    rows.ModelAliasFactory(version=quick_version, name="champion")
    approved_request(quick_version, "production", requester=maya)
    model = form.format(name=quick_version.model.name, number=quick_version.version)

    response = api.as_user(maya).get(GATE, {"model": model, "environment": "production"})

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["model"], answer["version"], answer["allowed"]) == (
        quick_version.model.name,
        quick_version.version,
        True,
    )


def test_the_gate_refuses_a_malformed_reference_listing_the_forms(api, maya, quick_version):
    response = api.as_user(maya).get(GATE, {"model": "models:/credit", "environment": "production"})

    assert response.status_code == 400
    assert "models:/name@alias" in response.json()["error"]["fields"]["model"][0]


def test_an_alias_nobody_set_is_a_404_like_any_missing_version(api, maya, quick_version):
    model = f"models:/{quick_version.model.name}@challenger"
    assert api.as_user(maya).get(GATE, {"model": model, "environment": "production"}).status_code == 404


def test_an_approval_is_requested_for_an_aliased_version(api, maya, quick_version):
    rows.ModelAliasFactory(version=quick_version, name="champion")
    body = {
        "model": f"models:/{quick_version.model.name}@champion",
        "environment": "staging",
        "justification": "Quarterly refresh.",
    }
    response = api.as_user(maya).post(reverse("api:approval-list"), body, format="json")

    assert response.status_code in (201, 409), response.json()  # 409: the policy's prerequisites
    if response.status_code == 201:
        assert response.json()["version"] == quick_version.version


def test_a_finding_on_a_reference_is_on_that_version_and_on_a_bare_name_on_the_model(
    api, victor, quick_version
):
    name = quick_version.model.name
    findings = reverse("api:finding-list")
    on_version = api.as_user(victor).post(
        findings, {"model": f"{name}:{quick_version.version}", "severity": "low", "title": "a"}, format="json"
    )
    on_model = api.as_user(victor).post(
        findings, {"model": name, "severity": "low", "title": "b"}, format="json"
    )

    assert on_version.status_code == on_model.status_code == 201, (on_version.json(), on_model.json())
    assert on_version.json()["version"] == quick_version.version
    assert on_model.json()["version"] is None
