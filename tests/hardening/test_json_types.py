"""A JSON body's members must have the types the schema states: a 400 naming the field, nothing written.

DRF alone reads ``{"name": 0}`` as the string "0" and ``{"is_active": 0}`` as false; schemathesis found
five operations answering 2xx to such bodies (issue 13). Form and multipart bodies, whose values are all
text, are still converted.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework import serializers

from accounts.models import ApiToken
from config.api import inputs
from registry.models import RegisteredModel
from tests.registry.conftest import LOW_RISK
from workflow.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

TOKENS = reverse("api:auth-token")
WEBHOOKS = reverse("api:webhook-list")
MODELS = reverse("api:model-list")
HOOK = "http://127.0.0.1:9/attest"  # allow-listed below; nothing is sent to it


def fields_at_fault(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def test_a_number_where_a_string_is_declared_is_refused(api, maya, password):
    body = {"username": "maya", "password": password, "name": 0}
    assert fields_at_fault(api.post(TOKENS, body, format="json")) == {
        "name": ["Must be a string, not a number."]
    }
    assert not ApiToken.objects.exists()


def test_a_string_where_an_integer_is_declared_is_refused(api, maya, password):
    body = {"username": "maya", "password": password, "expires_in_days": "30"}
    assert "expires_in_days" in fields_at_fault(api.post(TOKENS, body, format="json"))


def test_zero_and_one_are_not_booleans_and_nothing_changes(api, admin_user, outbound_loopback_allowed):
    api.as_user(admin_user)
    created = api.post(WEBHOOKS, {"url": HOOK}, format="json")
    assert created.status_code == 201, created.content
    detail = reverse("api:webhook-detail", args=[created.json()["id"]])

    problems = fields_at_fault(api.patch(detail, {"is_active": 0, "description": 5}, format="json"))

    assert problems == {
        "is_active": ["Must be a boolean (true or false), not a number."],
        "description": ["Must be a string, not a number."],
    }
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.is_active
    assert endpoint.description == ""


def test_array_members_are_checked_and_named_by_index(api, admin_user, outbound_loopback_allowed):
    api.as_user(admin_user)
    body = {"url": HOOK, "events": ["approval.decided", 7]}
    assert fields_at_fault(api.post(WEBHOOKS, body, format="json")) == {
        "events": ["1: Must be a string, not a number."]
    }
    assert not WebhookEndpoint.objects.exists()


def test_a_boolean_is_no_integer(api, maya):
    api.as_user(maya)
    body = {"name": "pd", "title": "PD", "team": "credit-risk", "tier_answers": LOW_RISK}
    problems = fields_at_fault(api.post(MODELS, body | {"review_frequency_months": True}, format="json"))
    assert problems == {"review_frequency_months": ["Must be an integer, not a boolean."]}
    assert not RegisteredModel.objects.exists()


def test_form_bodies_are_still_read_as_text(api, maya, password):
    body = {"username": "maya", "password": password, "name": "0", "expires_in_days": "30"}
    response = api.post(TOKENS, body, format="multipart")  # every value is text
    assert response.status_code == 201, response.content
    assert ApiToken.objects.get().name == "0"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (serializers.CharField(), "text", None),
        (serializers.CharField(), 1.5, "Must be a string, not a number."),
        (serializers.URLField(), ["x"], "Must be a string, not an array."),
        (serializers.IntegerField(), 3, None),
        (serializers.IntegerField(), 3.0, "Must be an integer, not a number."),
        (serializers.FloatField(), 3, None),
        (serializers.FloatField(), "3", "Must be a number, not a string."),
        (serializers.BooleanField(), False, None),
        (serializers.BooleanField(), "true", "Must be a boolean (true or false), not a string."),
        (serializers.ChoiceField(choices=["a", "b"]), "a", None),
        (serializers.ChoiceField(choices=["a", "b"]), {}, "Must be a string, not an object."),
        (serializers.ChoiceField(choices=[1, 2]), 1, None),
        (serializers.DictField(), [], "Must be an object, not an array."),
        (serializers.JSONField(), 1, None),
        (serializers.CharField(allow_null=True), None, None),
    ],
)
def test_each_declared_type_accepts_its_json_type_only(field, value, problem):
    assert inputs.json_type_problem(field, value) == problem
