"""/api/v1/audit/: auditors, risk officers and administrators read and verify; nobody else does."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import transaction
from django.urls import reverse

from audit import checkpoints, record
from audit.models import AuditEvent, AuditVerification
from tests.audit.conftest import write_events

pytestmark = pytest.mark.django_db

EVENTS = reverse("api:audit-event-list")
CHECKPOINTS = reverse("api:audit-checkpoint-list")
VERIFICATIONS = reverse("api:audit-verification-list")
CSV_EXPORT = reverse("api:audit-event-export-csv")
JSONL_EXPORT = reverse("api:audit-event-export-jsonl")
ALL_URLS = [EVENTS, CHECKPOINTS, VERIFICATIONS, CSV_EXPORT, JSONL_EXPORT]


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("url", ALL_URLS)
def test_it_lets_auditors_risk_officers_and_admins_read(api, aaron, rita, admin_user, url):
    for reader in (aaron, rita, admin_user):
        assert api.as_user(reader).get(url).status_code == 200, reader.username


@pytest.mark.parametrize("url", ALL_URLS)
def test_it_refuses_other_roles_with_403(api, maya, victor, olga, url):
    for user in (maya, victor, olga):
        response = api.as_user(user).get(url)
        assert response.status_code == 403, user.username
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", ALL_URLS)
def test_it_refuses_anonymous_with_401(api, url):
    response = api.as_user(None).get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_it_refuses_an_inactive_auditor(api, credit_risk):
    from tests.factories import UserFactory

    retired = UserFactory(username="retired", role="auditor", is_active=False)
    assert api.as_user(retired).get(EVENTS).status_code in {401, 403}


def test_it_pages_events_with_a_cursor_in_seq_order(api, aaron):
    write_events(7)
    first = api.as_user(aaron).get(EVENTS, {"page_size": 3}).json()
    assert [event["seq"] for event in first["results"]] == [1, 2, 3]
    second = api.get(first["next"]).json()
    assert [event["seq"] for event in second["results"]] == [4, 5, 6]
    newest = api.get(EVENTS, {"page_size": 2, "ordering": "-seq"}).json()
    last = AuditEvent.objects.order_by("-seq").first().seq  # signing in is audited too
    assert [event["seq"] for event in newest["results"]] == [last, last - 1]


def test_it_shows_an_event_by_seq_with_its_hashed_text(api, aaron):
    (event,) = write_events(1)
    body = api.as_user(aaron).get(reverse("api:audit-event-detail", args=[event.seq])).json()
    assert body["hash"] == event.hash
    assert body["canonical"].encode() == bytes(event.canonical)
    assert json.loads(body["canonical"])["after"] == body["after"] == {"index": 0}
    assert api.get(reverse("api:audit-event-detail", args=[999])).status_code == 404


def test_it_filters_events(api, aaron, maya, web_context):
    write_events(2)
    with transaction.atomic():
        record(action="model.created", actor=maya, obj=maya)
    client = api.as_user(aaron)
    assert [e["action"] for e in client.get(EVENTS, {"actor": "maya"}).json()["results"]] == ["model.created"]
    assert len(client.get(EVENTS, {"action": "system.worker_ping"}).json()["results"]) == 2
    assert len(client.get(EVENTS, {"action_prefix": "model."}).json()["results"]) == 1
    by_object = client.get(EVENTS, {"object_type": "governance.user", "object_id": str(maya.pk)}).json()
    assert [e["seq"] for e in by_object["results"]] == [3]
    same_request = client.get(EVENTS, {"request_id": "req-test-1"}).json()["results"]
    assert {e["request_id"] for e in same_request} == {"req-test-1"}
    assert len(same_request) >= 3
    assert len(client.get(EVENTS, {"seq_from": 2, "seq_to": 2}).json()["results"]) == 1
    when = AuditEvent.objects.get(seq=3).occurred_at.isoformat()
    later = client.get(EVENTS, {"occurred_after": when}).json()["results"]
    assert [e["seq"] for e in later][:1] == [3]  # sign-ins after it are audited too
    assert len(client.get(EVENTS, {"occurred_before": when}).json()["results"]) == 2


def test_it_answers_400_for_a_malformed_filter(api, aaron):
    response = api.as_user(aaron).get(EVENTS, {"occurred_after": "last tuesday"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"].keys() == {"occurred_after"}


def test_it_lists_events_in_a_constant_number_of_queries(api, aaron, django_assert_max_num_queries):
    write_events(60)
    client = api.as_user(aaron)
    with django_assert_max_num_queries(6):
        assert len(client.get(EVENTS, {"page_size": 50}).json()["results"]) == 50


def test_it_exports_csv_with_formula_cells_escaped_and_audits_the_export(api, aaron):
    with transaction.atomic():
        record(action="auth.login_failed", actor=None, after={"username": "=HYPERLINK(1)"}, reason="+1 -2 @3")
    response = api.as_user(aaron).get(CSV_EXPORT, {"action": "auth.login_failed"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert len(rows) == 1
    assert rows[0]["reason"] == "'+1 -2 @3"
    assert json.loads(rows[0]["after"]) == {"username": "=HYPERLINK(1)"}  # a JSON cell starts with {
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_username == "aaron"
    assert exported.after == {"format": "csv", "filters": {"action": "auth.login_failed"}}


def test_it_exports_json_lines_that_verify_on_their_own(api, rita):
    write_events(3)
    response = api.as_user(rita).get(JSONL_EXPORT)
    lines = [json.loads(line) for line in streamed(response).splitlines()]
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["action"] == "audit.exported"  # the export holds the record of itself
    from audit.chain import GENESIS_HASH, chain_hash

    head = GENESIS_HASH
    for line in lines:
        assert line["prev_hash"] == head
        head = chain_hash(head, line["canonical"].encode())
        assert line["hash"] == head


def test_it_escapes_every_dangerous_first_character():
    from audit.exports import safe_cell

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(f"{start}cmd") == f"'{start}cmd"
    assert safe_cell("plain") == "plain"
    assert safe_cell(-5) == -5


def test_it_lists_signed_checkpoints(api, aaron, signing_key):
    write_events(2)
    checkpoint = checkpoints.create()
    body = api.as_user(aaron).get(CHECKPOINTS).json()
    assert [c["number"] for c in body["results"]] == [1]
    assert body["results"][0]["signature"] == checkpoint.signature
    assert json.loads(body["results"][0]["payload"])["last_seq"] == 2
    assert api.get(reverse("api:audit-checkpoint-detail", args=[1])).json()["last_seq"] == 2


def test_it_queues_a_verification_and_answers_202(api, aaron, django_capture_on_commit_callbacks):
    write_events(2)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.as_user(aaron).post(VERIFICATIONS, {"from_seq": 1}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["requested_by"], body["from_seq"]) == ("queued", "aaron", 1)
    assert response["Location"].endswith(f"/audit/verifications/{body['id']}/")
    assert len(callbacks) == 1  # the job is queued only once the request's transaction commits
    assert api.get(reverse("api:audit-verification-detail", args=[body["id"]])).json()["status"] == "queued"


def test_it_refuses_a_verification_to_other_roles(api, maya):
    response = api.as_user(maya).post(VERIFICATIONS, {}, format="json")
    assert response.status_code == 403
    assert not AuditVerification.objects.exists()


def test_it_runs_a_verification_job_and_records_the_verdict(aaron, signing_key):
    from workflow.services import audit as audit_services

    write_events(5)
    job = audit_services.verification_request(actor=aaron)
    audit_services.verification_run(verification_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.intact) == ("succeeded", True)
    assert job.result["events_checked"] == 6  # the five, and the job's own audit_verification.started
    verified = AuditEvent.objects.get(action="audit.verified")
    assert verified.actor_username == "aaron"
    assert verified.after["intact"] is True
    assert audit_services.verification_run(verification_id=job.pk) is None  # runs once


def test_it_refuses_a_bad_from_seq(api, aaron):
    assert api.as_user(aaron).post(VERIFICATIONS, {"from_seq": 0}, format="json").status_code == 400


def test_the_api_and_both_exports_publish_the_same_event(api, rita):
    write_events(1)
    client = api.as_user(rita)
    listed = client.get(EVENTS, {"seq_to": 1}).json()["results"][0]
    exported = json.loads(streamed(client.get(JSONL_EXPORT)).splitlines()[0])
    header = next(csv.reader(io.StringIO(streamed(client.get(CSV_EXPORT)))))
    assert listed.keys() == exported.keys()
    assert {key: listed[key] for key in listed if key != "occurred_at"} == {
        key: exported[key] for key in exported if key != "occurred_at"
    }
    assert set(header) == listed.keys() - {"schema_version", "canonical"}
