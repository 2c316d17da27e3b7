"""What schemathesis found, one case each: the schema says it and the API does it."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = [pytest.mark.contract, pytest.mark.django_db]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _error_fields(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]["fields"]


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"429", "503"} <= set(responses), (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code >= "400":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Error"), (method, path, code)
    assert "401" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]


def test_a_policy_s_author_may_be_none(schema):
    created_by = schema["components"]["schemas"]["PolicyOutput"]["properties"]["created_by"]
    assert created_by.get("nullable") is True


def test_a_delete_with_a_body_documents_it(schema):
    body = schema["paths"]["/api/v1/auth/totp/"]["delete"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/TotpRemoveInputRequest")


@pytest.mark.parametrize("page_size", ["abc", "0", "-1", "1.5"])
def test_a_page_size_that_is_not_a_whole_number_is_a_400(api, maya, page_size):
    response = api.as_user(maya).get(f"/api/v1/models/?page_size={page_size}")
    assert response.status_code == 400
    assert "page_size" in _error_fields(response)


@pytest.mark.parametrize(
    ("query", "field"),
    [("version=0.5", "version"), ("version=1&version=2", "version"), ("status=", None)],
)
def test_a_malformed_filter_is_a_400_naming_it(api, maya, query, field):
    response = api.as_user(maya).get(f"/api/v1/checks/?{query}")
    if field is None:  # a blank choice filter is no filter
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert field in _error_fields(response)


def test_a_boolean_filter_takes_only_true_or_false(api, maya):
    response = api.as_user(maya).get("/api/v1/models/?review_overdue=null")
    assert response.status_code == 400
    assert "review_overdue" in _error_fields(response)


def test_an_offset_postgresql_refuses_is_compared_in_utc(api, aaron):
    # +20:34 is valid RFC 3339; PostgreSQL refuses offsets beyond ±15:59 (it was a 500)
    response = api.as_user(aaron).get("/api/v1/audit/events/?occurred_before=2030-06-16T00:28:30%2B20:34")
    assert response.status_code == 200
    assert api.get("/api/v1/audit/events/?occurred_before=").status_code == 400


def test_an_export_s_error_is_json_whatever_the_file_type(api, aaron):
    response = api.as_user(aaron).get(
        "/api/v1/audit/events/export.jsonl?seq_from=x", HTTP_ACCEPT="application/jsonl"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "seq_from" in _error_fields(response)


def test_awaiting_takes_only_me(api, rita):
    assert api.as_user(rita).get("/api/v1/approvals/?awaiting=me").status_code == 200
    response = api.get("/api/v1/approvals/?awaiting=you")
    assert response.status_code == 400
    assert "awaiting" in _error_fields(response)


@pytest.mark.parametrize(
    ("field", "value"),
    [("required_evidence", [{}]), ("model_wide_findings", [["check"]]), ("segregation", [1.5])],
)
def test_a_policy_list_item_of_the_wrong_type_is_a_400_not_a_500(api, admin_user, field, value):
    body = {"tier": 3, "name": "typed", "stages": [], "gated_environments": {}, field: value}
    response = api.as_user(admin_user).post("/api/v1/policies/", body, format="json")
    assert response.status_code == 400
    assert any(name.startswith(field) for name in _error_fields(response))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"outputs": {}}, "outputs"),
        ({"schemaURL": {}}, "schemaURL"),
        ({"eventTime": "0054-02-01T19:39:00Z"}, "eventTime"),
    ],
)
def test_a_run_event_is_checked_as_its_schema_says(api, maya, change, field):
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2025-01-01T00:00:00Z",
        "run": {"runId": "r1"},
        "job": {"namespace": "ns", "name": "job"},
        **change,
    }
    response = api.as_user(maya).post("/api/v1/lineage/", event, format="json")
    assert response.status_code == 400
    assert field in _error_fields(response)
