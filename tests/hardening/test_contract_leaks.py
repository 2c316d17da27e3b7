"""Issue 13, finding 8: names of other teams' records are not disclosed, unknown /api/ paths answer JSON 404
for every method, and an unreachable database is a 503 with the error body, not a 500."""

from __future__ import annotations

import socket

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from registry.models import Dataset, RegisteredModel
from registry.services.names import NOT_AVAILABLE
from tests.conftest import PersonaClient
from tests.registry.conftest import LOW_RISK

MODELS = reverse("api:model-list")
DATASETS = reverse("api:dataset-list")


def new_model(**overrides) -> dict:
    return {
        "name": "pd-retail",
        "title": "PD retail",
        "team": "credit-risk",
        "tier_answers": LOW_RISK,
    } | overrides


def refusal(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]


def assert_only_not_available(error: dict, field: str) -> None:
    """``field`` is refused as not available, and nothing in the answer says more."""
    assert error["fields"][field] == [NOT_AVAILABLE]
    assert {message for messages in error["fields"].values() for message in messages} == {NOT_AVAILABLE}
    assert "exist" not in str(error).lower()


# --- uniqueness without disclosure -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_model_name_taken_by_another_team_is_only_not_available(api, maya, olga):
    assert api.as_user(maya).post(MODELS, new_model(), format="json").status_code == 201

    error = refusal(api.as_user(olga).post(MODELS, new_model(team="fraud"), format="json"))

    assert_only_not_available(error, "name")
    assert RegisteredModel.objects.filter(team__name="fraud").count() == 0


@pytest.mark.django_db
def test_a_lineage_job_taken_by_another_team_is_only_not_available(api, maya, olga):
    assert api.as_user(maya).post(MODELS, new_model(lineage_job="pd-job"), format="json").status_code == 201

    body = new_model(name="fraud-score", team="fraud", lineage_job="pd-job")
    error = refusal(api.as_user(olga).post(MODELS, body, format="json"))

    assert_only_not_available(error, "lineage_job")


@pytest.mark.django_db
def test_a_name_taken_in_the_callers_own_team_still_says_it_exists(api, maya):
    assert api.as_user(maya).post(MODELS, new_model(), format="json").status_code == 201

    error = refusal(api.as_user(maya).post(MODELS, new_model(), format="json"))

    assert error["fields"]["name"] == ["Registered model with this Name already exists."]


@pytest.mark.django_db
def test_a_dataset_name_taken_by_another_team_is_only_not_available(api, maya, olga):
    body = {"name": "applications", "team": "credit-risk"}
    assert api.as_user(maya).post(DATASETS, body, format="json").status_code == 201

    error = refusal(api.as_user(olga).post(DATASETS, body | {"team": "fraud"}, format="json"))

    assert_only_not_available(error, "name")
    assert Dataset.objects.filter(team__name="fraud").count() == 0


@pytest.mark.django_db
def test_a_dataset_lineage_identity_taken_by_another_team_is_only_not_available(api, maya, olga):
    body = {"name": "applications", "team": "credit-risk", "lineage_name": "warehouse.apps"}
    assert api.as_user(maya).post(DATASETS, body, format="json").status_code == 201

    other = {"name": "fraud-apps", "team": "fraud", "lineage_name": "warehouse.apps"}
    error = refusal(api.as_user(olga).post(DATASETS, other, format="json"))

    assert_only_not_available(error, "lineage_name")


# --- unknown /api/ paths -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "session"])
def test_an_unknown_api_path_is_a_json_404_whatever_the_method(maya, method, signed_in):
    client = Client(enforce_csrf_checks=True)  # as a browser or a script without a CSRF token
    if signed_in:
        client.force_login(maya)

    response = client.generic(method, "/api/v1/no-such-thing/", b"{}", content_type="application/json")

    assert response.status_code == 404, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


# --- the database unreachable --------------------------------------------------------------------------


@pytest.fixture
def database_down(transactional_db):
    """The default connection pointed at a port on 127.0.0.1 that is bound but not listening: every
    connection attempt is refused at once, as when PostgreSQL is stopped."""
    refuser = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refuser.bind(("127.0.0.1", 0))  # held, never listening: nobody else can start a server on it
    connection = connections["default"]
    saved = dict(connection.settings_dict)

    def stop():
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(refuser.getsockname()[1]))

    yield stop
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)
    refuser.close()


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["message"]
    assert response["Retry-After"]


def test_an_api_write_with_a_token_while_the_database_is_down_is_a_503(database_down, maya):
    _, secret = ApiToken.objects.create(user=maya)
    client = PersonaClient(raise_request_exception=False).with_token(secret)
    database_down()

    assert_unavailable(client.post(MODELS, new_model(), format="json"))


def test_an_api_write_with_a_session_while_the_database_is_down_is_a_503(database_down, maya):
    client = PersonaClient(raise_request_exception=False).as_user(maya)
    database_down()  # the session itself cannot be read: the failure happens before the view

    assert_unavailable(client.post(MODELS, new_model(), format="json"))


def test_signing_in_while_the_database_is_down_is_a_503(database_down):
    client = PersonaClient(raise_request_exception=False)
    database_down()

    response = client.post(reverse("api:auth-token"), {"username": "maya", "password": "x"}, format="json")

    assert_unavailable(response)


def test_a_page_while_the_database_is_down_is_a_503_page(database_down, maya):
    client = Client(raise_request_exception=False)
    client.force_login(maya)
    database_down()

    response = client.get("/")

    assert response.status_code == 503
    assert b"<html" in response.content.lower()
