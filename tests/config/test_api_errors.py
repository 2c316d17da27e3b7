"""Every API failure has the same body: {"error": {"code", "message", "fields"}}."""

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def post_raw(client, url, body: bytes, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def test_it_answers_400_naming_the_missing_field(api):
    error = assert_error(
        api.post(reverse("api:auth-token"), {"username": "x"}, format="json"), 400, "invalid"
    )
    assert error["fields"] == {"password": ["This field is required."]}
    assert "password" in error["message"]


def test_it_answers_400_for_unparseable_json(api):
    error = assert_error(post_raw(api, reverse("api:auth-token"), b'{"username": '), 400, "parse_error")
    assert "JSON parse error" in error["message"]


@pytest.mark.parametrize("number", [b"1e999", b"-1e999", b"NaN", b"Infinity"])
def test_it_answers_400_for_json_numbers_out_of_range(api, maya, number):
    body = b'{"name": "x", "expires_in_days": ' + number + b"}"
    assert_error(post_raw(api.as_user(maya), reverse("api:token-list"), body), 400, "parse_error")


def test_it_answers_401_without_credentials(api):
    assert_error(api.get(reverse("api:team-list")), 401, "not_authenticated")


def test_it_answers_404_for_an_unknown_api_path(api, maya):
    assert_error(api.as_user(maya).get("/api/v1/no-such-thing/"), 404, "not_found")


@override_settings(DEBUG=True)
def test_it_answers_404_in_json_for_an_unknown_api_path_in_debug_mode_too(api, maya):
    assert_error(api.as_user(maya).get("/api/v2/models/"), 404, "not_found")


def test_it_redirects_a_get_that_only_lacks_its_trailing_slash(api, maya):
    response = api.as_user(maya).get("/api/v1/teams", {"page": 2})

    assert (response.status_code, response["Location"]) == (301, "/api/v1/teams/?page=2")


def test_it_tells_a_post_that_only_lacks_its_trailing_slash(api, maya):
    error = assert_error(api.as_user(maya).post("/api/v1/auth/tokens", {}, format="json"), 404, "not_found")
    assert error["message"] == "Not found. API paths end with a slash: /api/v1/auth/tokens/"


def test_it_answers_405_for_a_wrong_method(api, maya):
    assert_error(api.as_user(maya).delete(reverse("api:team-list")), 405, "method_not_allowed")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_it_answers_413_for_a_body_over_the_limit(api, maya):
    body = b'{"name": "' + b"x" * 4000 + b'"}'
    assert_error(post_raw(api.as_user(maya), reverse("api:token-list"), body), 413, "payload_too_large")


def test_it_answers_415_for_an_unsupported_media_type(api, maya):
    response = post_raw(api.as_user(maya), reverse("api:token-list"), b"name: x", content_type="text/yaml")
    assert_error(response, 415, "unsupported_media_type")


def test_it_echoes_or_creates_a_request_id(api, maya):
    client = api.as_user(maya)
    assert client.get(reverse("api:team-list"), HTTP_X_REQUEST_ID="ci-run-42")["X-Request-ID"] == "ci-run-42"
    generated = client.get(reverse("api:team-list"), HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert len(generated) == 32
    assert generated.isalnum()


def test_it_throttles_repeated_sign_in_attempts(api, settings):
    """The account locks after ATTEST_LOCKOUT_ACCOUNT_FAILURES (5) wrong passwords: 429 with Retry-After
    (more in tests/hardening/test_auth_throttle.py)."""
    responses = [
        api.post(reverse("api:auth-token"), {"username": "x", "password": "y"}, format="json")
        for _ in range(7)
    ]
    assert [response.status_code for response in responses] == [401] * 5 + [429] * 2
    assert_error(responses[-1], 429, "throttled")
    assert int(responses[-1]["Retry-After"]) > 0
