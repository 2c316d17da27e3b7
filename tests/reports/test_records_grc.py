"""GRC delivery: connectors configured by administrators push to a real local HTTP receiver.

A signed webhook is verified with the ``standardwebhooks`` library over the exact bytes received; the
ServiceNow-style push receives the raw file with Basic authentication and its content type; a failing
receiver leads to retries with exponential backoff, each attempt in the delivery log and the audit log.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from celery.exceptions import Retry
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from audit.models import AuditEvent
from registry import storage
from reports import tasks
from reports.models import GrcConnector, GrcDelivery, Report
from reports.services import connectors, deliveries
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    Receiver,
    approve,
    finished_bundle,
    finished_report,
    quick_ready_version,
    quick_version,
    tier1_model,
)
from workflow.services.notifications import retry_delay

# Receivers listen on 127.0.0.1, which config.outbound refuses unless an administrator allows it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbound_loopback_allowed")]
CONNECTORS = reverse("api:grc-connector-list")


def create_connector(api, admin_user, **body):
    response = api.as_user(admin_user).post(CONNECTORS, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def deliver_on_demand(api, admin_user, connector_id: int, **document) -> GrcDelivery:
    response = api.as_user(admin_user).post(
        reverse("api:grc-connector-deliver", args=[connector_id]), document, format="json"
    )
    assert response.status_code == 202, response.json()
    return GrcDelivery.objects.get(pk=response.json()["id"])


def test_it_lets_administrators_manage_connectors_and_shows_a_secret_once(api, admin_user, maya, aaron, rita):
    """GIVEN an administrator creating a webhook and a ServiceNow connector
    WHEN the connectors are created, read and changed
    THEN the webhook secret is returned by the create call only, the password never, each change is
    audited without any secret, and nobody but administrators reaches the endpoints."""
    webhook = create_connector(
        api,
        admin_user,
        name="grc-hook",
        kind="webhook",
        url="https://grc.example/hook",
        events=["approval.approved"],
    )
    assert webhook["secret"].startswith("whsec_")
    servicenow = create_connector(
        api,
        admin_user,
        name="snow",
        kind="servicenow",
        url="https://example.service-now.com/api/now/attachment/file?table_name=x&table_sys_id=1",
        username="attest.integration",
        password="s3cret-password",
        payload="report",
    )
    assert "secret" not in servicenow
    assert "password" not in servicenow
    detail = api.as_user(admin_user).get(reverse("api:grc-connector-detail", args=[webhook["id"]])).json()
    assert "secret" not in detail
    changed = api.as_user(admin_user).patch(
        reverse("api:grc-connector-detail", args=[servicenow["id"]]),
        {"password": "rotated-password", "is_active": False},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["is_active"] is False
    assert GrcConnector.objects.get(name="snow").secret == "rotated-password"
    events = AuditEvent.objects.filter(action="connector.changed").order_by("seq")
    assert events.count() == 3
    assert events.last().after["secret_changed"] is True
    for event in events:
        assert "s3cret" not in bytes(event.canonical).decode()
        assert webhook["secret"] not in bytes(event.canonical).decode()

    for user in (maya, aaron, rita):
        assert api.as_user(user).get(CONNECTORS).status_code == 403
        assert api.as_user(user).post(CONNECTORS, {}, format="json").status_code == 403
    assert api.as_user(None).get(CONNECTORS).status_code == 401
    refused = api.as_user(admin_user).post(
        CONNECTORS, {"name": "bad", "kind": "servicenow", "url": "https://x.example/"}, format="json"
    )
    assert refused.status_code == 400
    assert "username" in refused.json()["error"]["fields"]


def test_it_pushes_a_signed_webhook_with_the_report_on_demand(api, admin_user, maya, quick_ready_version):
    """GIVEN a webhook connector pointing at a local receiver and a finished report
    WHEN an administrator pushes the report
    THEN the receiver gets one Standard Webhooks message whose signature verifies with the connector's
    secret, carrying the PDF and its SHA-256; the delivery is logged and audited as delivered."""
    report = finished_report(quick_ready_version, user=maya)
    with Receiver() as receiver:
        connector = create_connector(api, admin_user, name="grc-hook", kind="webhook", url=receiver.url())
        delivery = deliver_on_demand(api, admin_user, connector["id"], report=report.pk)
        delivery = deliveries.deliver(delivery_id=delivery.pk)
    assert delivery.status == "delivered"
    assert deliveries.deliver(delivery_id=delivery.pk) is None  # a redelivered task does nothing
    [message] = receiver.received
    payload = Webhook(connector["secret"]).verify(message["body"], message["headers"])
    assert payload["type"] == "evidence.pushed"
    document = payload["data"]["document"]
    with storage.open_blob(report.file_key) as handle:
        assert base64.b64decode(document["content_base64"]) == handle.read()
    assert document["sha256"] == report.sha256 == delivery.sha256
    assert document["media_type"] == "application/pdf"
    assert message["headers"]["webhook-id"] == delivery.message_id
    assert [entry["status_code"] for entry in delivery.log] == [201]
    event = AuditEvent.objects.get(action="grc.delivered", object_id=str(delivery.pk))
    assert event.actor_username == "admin"
    assert event.after["sha256"] == report.sha256


def test_it_pushes_a_bundle_as_a_servicenow_attachment(api, admin_user, aaron, quick_version):
    """GIVEN a ServiceNow-style connector with credentials and a finished bundle
    WHEN the bundle is pushed
    THEN the receiver gets the raw zip at the configured URL with file_name added, Basic authentication
    and the zip's content type."""
    bundle = finished_bundle(quick_version, user=aaron)
    with Receiver() as receiver:
        connector = create_connector(
            api,
            admin_user,
            name="snow",
            kind="servicenow",
            url=receiver.url("/api/now/attachment/file?table_name=u_model_evidence&table_sys_id=9d3c"),
            username="attest.integration",
            password="s3cret-password",
        )
        delivery = deliver_on_demand(api, admin_user, connector["id"], bundle=bundle.pk)
        delivery = deliveries.deliver(delivery_id=delivery.pk)
    assert delivery.status == "delivered", delivery.last_error
    [message] = receiver.received
    url = urlsplit(message["path"])
    assert url.path == "/api/now/attachment/file"
    assert parse_qs(url.query) == {
        "table_name": ["u_model_evidence"],
        "table_sys_id": ["9d3c"],
        "file_name": [f"{bundle.bag_name}.zip"],
    }
    expected = base64.b64encode(b"attest.integration:s3cret-password").decode()
    assert message["headers"]["authorization"] == f"Basic {expected}"
    assert message["headers"]["content-type"] == "application/zip"
    assert message["headers"]["x-attest-sha256"] == bundle.sha256
    with storage.open_blob(bundle.file_key) as handle:
        assert message["body"] == handle.read()


def test_it_retries_a_failing_receiver_with_backoff_then_gives_up(
    api, admin_user, maya, quick_ready_version, monkeypatch
):
    """GIVEN a receiver that answers 500, 503, then 500
    WHEN the delivery is attempted whenever it is due, with three attempts allowed
    THEN each failure schedules the next attempt after 30 s then 60 s, an attempt before that time does
    nothing, the third failure gives up, and every attempt is in the delivery log and the audit log."""
    monkeypatch.setattr(deliveries, "MAX_ATTEMPTS", 3)
    report = finished_report(quick_ready_version, user=maya)
    with Receiver(statuses=[500, 503, 500]) as receiver:
        connector = create_connector(api, admin_user, name="grc-hook", kind="webhook", url=receiver.url())
        delivery = deliver_on_demand(api, admin_user, connector["id"], report=report.pk)
        with pytest.raises(Retry):
            tasks.deliver(delivery.pk)  # the task asks Celery to retry after the backoff
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("retrying", 1)
        assert deliveries.deliver(delivery_id=delivery.pk) is None  # not due yet
        for _ in range(2):
            GrcDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )
            delivery = deliveries.deliver(delivery_id=delivery.pk)
    assert len(receiver.received) == 3
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert [entry["status_code"] for entry in delivery.log] == [500, 503, 500]
    for entry in delivery.log[:2]:
        waited = _time(entry["next_attempt_at"]) - _time(entry["at"])
        assert waited == timedelta(seconds=retry_delay(entry["attempt"]))
    failures = AuditEvent.objects.filter(action="grc.delivery_failed", object_id=str(delivery.pk))
    assert [event.after["status"] for event in failures.order_by("seq")] == ["retrying", "retrying", "failed"]
    log = api.as_user(admin_user).get(reverse("api:grc-connector-deliveries", args=[connector["id"]])).json()
    assert log["results"][0]["attempts"] == 3
    assert log["results"][0]["last_status_code"] == 500


def _time(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_it_pushes_each_approval_once_when_it_completes(admin_user, maya, victor, rita, quick_ready_version):
    """GIVEN a webhook connector subscribed to approval.approved that sends the validation report
    WHEN an approval completes and the sweep (the deliver_pending beat task) runs twice
    THEN one delivery is made for the approval, its report is rendered from the stored evidence and
    pushed with the approval it is about; a second attempt finds nothing to do."""
    with Receiver() as receiver:
        connector = connectors.connector_create(
            actor=admin_user,
            name="grc-hook",
            kind="webhook",
            url=receiver.url(),
            events=["approval.approved"],
            payload="report",
        )
        approval = approve(
            quick_ready_version,
            maya,
            [(victor, "review"), (rita, "approval"), (admin_user, "responsibility")],
        )
        assert approval.status == "approved"
        assert tasks.deliver_pending() == 1
        assert deliveries.deliveries_schedule() == 0  # idempotent: one delivery per connector and approval
        delivery = GrcDelivery.objects.get(connector=connector, approval=approval)
        delivery = deliveries.deliver(delivery_id=delivery.pk)
    assert delivery.status == "delivered", delivery.last_error
    report = Report.objects.get(pk=delivery.report_id)
    assert (report.kind, report.status, report.requested_by) == ("validation", "succeeded", None)
    assert report.requested_by_name == "Attest (GRC connector grc-hook)"
    [message] = receiver.received
    payload = json.loads(message["body"])
    Webhook(connector.secret).verify(message["body"], message["headers"])
    assert payload["type"] == "approval.approved"
    assert payload["data"]["approval"]["id"] == approval.pk
    assert payload["data"]["approval"]["evidence_digest"] == approval.evidence_digest
    assert payload["data"]["document"]["sha256"] == report.sha256
