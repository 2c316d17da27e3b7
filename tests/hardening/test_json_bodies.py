"""JSON and form bodies the database or the parser cannot survive are 400s naming the field, never 500s.

Finding 4 of issue 13: deeply nested JSON (also anonymous, on the login endpoint) raised RecursionError,
and NUL or a lone surrogate in a JSON field (tags, lineage facets, policy stages) reached PostgreSQL as a
DataError. Bodies are sent as raw text: the escapes ``\\u0000`` and ``\\ud800`` are what a client sends.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from config import strict_json
from registry.models import RegisteredModel
from tests.registry.conftest import LOW_RISK

pytestmark = pytest.mark.django_db

MODELS = reverse("api:model-list")
TOKEN = reverse("api:auth-token")


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def post_raw(client, url: str, text: str):
    return client.post(url, data=text.encode(), content_type="application/json")


def model_body(**fields) -> dict:
    return {
        "name": "pd-retail",
        "title": "PD retail",
        "team": "credit-risk",
        "tier_answers": LOW_RISK,
    } | fields


def test_it_answers_deeply_nested_json_to_an_anonymous_login_with_400(api):
    response = post_raw(api, TOKEN, '{"username": ' + deep(100_000) + "}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "nested" in response.json()["error"]["message"]


def test_it_answers_json_nested_past_the_limit_with_400_before_the_view_runs(api, maya, settings):
    settings.ATTEST_MAX_JSON_DEPTH = 5
    tags = {"a": {"b": {"c": {"d": {"e": 1}}}}}  # the body object plus five levels: six
    response = api.as_user(maya).post(MODELS, model_body(tags=tags), format="json")
    assert response.status_code == 400
    assert "at most 5 levels" in response.json()["error"]["message"]
    assert not RegisteredModel.objects.exists()


def test_it_refuses_a_nul_in_a_json_value_naming_the_field(api, maya):
    text = json.dumps(model_body(tags={"domain": "MARK"})).replace("MARK", "ret\\u0000ail")
    response = post_raw(api.as_user(maya), MODELS, text)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["tags.domain"]
    assert "NUL" in response.json()["error"]["fields"]["tags.domain"][0]
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.filter(action="model.created").exists()


def test_it_refuses_a_lone_surrogate_in_a_key_naming_the_field(api, maya):
    text = json.dumps(model_body(tags={"MARK": "retail"})).replace("MARK", "do\\ud800main")
    response = post_raw(api.as_user(maya), MODELS, text)
    assert response.status_code == 400, response.content
    [field] = response.json()["error"]["fields"]
    assert field.startswith("tags.do")
    assert "surrogate" in response.json()["error"]["fields"][field][0]
    assert not RegisteredModel.objects.exists()


def test_it_refuses_a_string_longer_than_the_limit(api, maya, settings):
    settings.ATTEST_MAX_JSON_STRING_CHARS = 1024
    response = api.as_user(maya).post(MODELS, model_body(description="x" * 1025), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["description"]


def test_it_still_accepts_ordinary_json_with_unicode(api, maya):
    response = api.as_user(maya).post(MODELS, model_body(tags={"région": "Île-de-France 🇫🇷"}), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["tags"] == {"région": "Île-de-France 🇫🇷"}


# ------------------------------------------------------------------ the scanner itself, on any document


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=json_values)
def test_the_depth_count_without_parsing_matches_the_parsed_document(document):
    assert strict_json.nesting_depth(json.dumps(document)) == _depth(document)
    assert strict_json.nesting_depth(json.dumps(document, ensure_ascii=False)) == _depth(document)


@settings(max_examples=200, deadline=None)
@given(document=json_values)
def test_a_document_is_refused_exactly_when_some_text_or_integer_in_it_cannot_be_stored(document):
    storable = all(_storable(text) for text in _texts(document)) and all(
        -(2**63) <= number < 2**63 for number in _integers(document)
    )
    try:
        assert strict_json.loads(json.dumps(document)) == document
        refused = False
    except strict_json.UnsafeJSON:
        refused = True
    assert refused is not storable


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _integers(value):
    if isinstance(value, int) and not isinstance(value, bool):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _integers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _integers(item)


def test_it_refuses_an_integer_beyond_64_bits_naming_the_field(api, aaron):
    response = api.as_user(aaron).post(
        reverse("api:audit-verification-list"), {"from_seq": 10**30}, format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["from_seq"]


def _storable(text: str) -> bool:
    return "\x00" not in text and not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def test_it_answers_a_lineage_event_whose_type_is_an_object_with_400(api, maya):
    """Found by the corpus: ``eventType`` was looked up in a set before its type was checked (TypeError)."""
    event = {"eventType": {"nested": [[{}]]}, "eventTime": "2026-01-01T00:00:00Z", "run": {}, "job": {}}
    response = api.as_user(maya).post(reverse("api:openlineage"), event, format="json")
    assert response.status_code == 400, response.content
    assert "eventType" in response.json()["error"]["fields"]
