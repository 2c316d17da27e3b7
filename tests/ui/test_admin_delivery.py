"""Webhooks and GRC connectors in the admin console: added through their services, the secret shown once,
and "Send a test event" delivering a signed message that a receiver verifies — always to a local
listener on 127.0.0.1 (tests.reports.records_support.Receiver), never anywhere else.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from standardwebhooks import Webhook

from audit.models import AuditEvent
from reports.models import GrcConnector
from reports.services import connectors
from tests.factories import UserFactory
from tests.reports.records_support import Receiver
from workflow.models import WebhookDelivery, WebhookEndpoint
from workflow.services import notifications

# Receivers listen on 127.0.0.1, which config.outbound refuses unless an administrator allows it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbound_loopback_allowed")]


@pytest.fixture
def receiver():
    with Receiver() as listening:
        yield listening


def verified(secret: str, message: dict) -> dict:
    """The event as a Standard Webhooks receiver reads it (raises if the signature is wrong)."""
    return Webhook(secret).verify(message["body"], message["headers"])


# --- webhooks ------------------------------------------------------------------------------------------


def test_it_adds_a_webhook_shows_its_secret_once_and_delivers_a_signed_test_event(console, receiver):
    added = console.post(
        reverse("admin:workflow_webhookendpoint_add"),
        {"url": receiver.url(), "description": "GRC", "events": ["finding.raised"], "team": ""},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert added.status_code == 200
    assert endpoint.secret in added.content.decode()
    test_url = reverse("admin:workflow_webhookendpoint_test", args=[endpoint.pk])
    assert test_url in added.content.decode()  # the "Send a test event" button follows the secret

    result = console.post(test_url)

    assert result.status_code == 200
    assert result.context["result"]["delivered"] is True
    assert "Delivered." in result.content.decode()
    (message,) = receiver.received
    event = verified(endpoint.secret, message)
    assert event["type"] == "webhook.test"
    assert event["data"]["sent_by"] == "admin"
    delivery = WebhookDelivery.objects.get(event_type="webhook.test")
    assert (delivery.status, delivery.last_status_code, delivery.message_id) == (
        "delivered",
        201,
        message["headers"]["webhook-id"],
    )
    tested = AuditEvent.objects.get(action="webhook.tested", object_id=str(endpoint.pk))
    assert (tested.after["delivery"], tested.after["status"]) == (delivery.pk, "delivered")
    assert (
        endpoint.secret
        not in console.get(
            reverse("admin:workflow_webhookendpoint_change", args=[endpoint.pk])
        ).content.decode()
    )


def test_it_shows_a_failed_test_event_and_does_not_retry_it(console, admin_user):
    with Receiver(statuses=[500]) as failing:
        endpoint = notifications.webhook_create(actor=admin_user, url=failing.url(), events=[])
        result = console.post(reverse("admin:workflow_webhookendpoint_test", args=[endpoint.pk]))
    assert result.context["result"]["delivered"] is False
    assert "answered HTTP 500" in result.content.decode()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)


def test_it_sends_test_events_to_the_selected_endpoints(console, admin_user, receiver):
    endpoint = notifications.webhook_create(actor=admin_user, url=receiver.url("/a"), events=[])
    response = console.post(
        reverse("admin:workflow_webhookendpoint_changelist"),
        {"action": "send_test_events", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    assert f"Delivered to {endpoint.url} (HTTP 201)." in response.content.decode()
    assert [message["path"] for message in receiver.received] == ["/a"]


# --- GRC connectors --------------------------------------------------------------------------------


def connector_form(url: str, **changes) -> dict:
    return {
        "name": "archer",
        "kind": "webhook",
        "url": url,
        "username": "",
        "password": "",
        "events": ["approval.approved"],
        "payload": "bundle",
        **changes,
    }


def test_it_adds_a_webhook_connector_through_the_service_and_tests_it(console, receiver):
    added = console.post(reverse("admin:reports_grcconnector_add"), connector_form(receiver.url("/grc")))

    connector = GrcConnector.objects.get(name="archer")
    assert added.status_code == 200
    assert connector.secret.startswith("whsec_")
    assert connector.secret in added.content.decode()
    created = AuditEvent.objects.get(action="connector.changed", object_id=str(connector.pk))
    assert created.after["created"] is True
    assert "whsec_" not in str(created.after)

    test_url = reverse("admin:reports_grcconnector_test", args=[connector.pk])
    result = console.post(test_url)

    assert result.context["result"]["delivered"] is True
    (message,) = receiver.received
    assert message["path"] == "/grc"
    event = verified(connector.secret, message)
    assert (event["type"], event["data"]["connector"]) == ("connector.test", "archer")
    tested = AuditEvent.objects.get(action="connector.tested", object_id=str(connector.pk))
    assert tested.after["message_id"] == message["headers"]["webhook-id"]
    assert (
        connector.secret
        not in console.get(reverse("admin:reports_grcconnector_change", args=[connector.pk])).content.decode()
    )


def test_it_tests_a_servicenow_connector_with_its_user_and_password(console, receiver):
    data = connector_form(receiver.url("/api/now/attachment/file?table_name=grc"), kind="servicenow")
    data.update(name="snow", username="attest.integration", password="s3cret-Pass", events=[])
    added = console.post(reverse("admin:reports_grcconnector_add"), data)
    connector = GrcConnector.objects.get(name="snow")
    assert added.status_code == 200
    assert "s3cret-Pass" not in added.content.decode()  # a given password is never shown back

    result = console.post(reverse("admin:reports_grcconnector_test", args=[connector.pk]))

    assert result.context["result"]["delivered"] is True
    (message,) = receiver.received
    query = parse_qs(urlsplit(message["path"]).query)
    assert query == {"table_name": ["grc"], "file_name": ["attest-connection-test.txt"]}
    expected = base64.b64encode(b"attest.integration:s3cret-Pass").decode()
    assert message["headers"]["authorization"] == f"Basic {expected}"
    assert message["body"].startswith(b"A connection test from Attest")


def test_it_asks_a_servicenow_connector_for_its_user_and_password(console):
    data = connector_form("https://grc.example.com/api/now/attachment/file", kind="servicenow", name="snow")
    response = console.post(reverse("admin:reports_grcconnector_add"), data)
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"username", "password"}
    assert not GrcConnector.objects.exists()


def test_it_rotates_a_connectors_secret_through_the_service_and_shows_it_once(console, admin_user):
    connector = connectors.connector_create(
        actor=admin_user, name="archer", kind="webhook", url="https://grc.example.com/hook", events=[]
    )
    old_secret = connector.secret
    url = reverse("admin:reports_grcconnector_change", args=[connector.pk])
    data = {"url": "https://grc.example.com/v2", "events": [], "payload": "report", "is_active": "on"}
    response = console.post(url, {**data, "rotate_secret": "on"})
    connector.refresh_from_db()
    assert response.status_code == 200
    assert connector.secret != old_secret
    assert connector.secret in response.content.decode()
    assert (connector.url, connector.payload) == ("https://grc.example.com/v2", "report")
    changed = AuditEvent.objects.filter(action="connector.changed", object_id=str(connector.pk)).latest("seq")
    assert changed.before["url"] == "https://grc.example.com/hook"
    assert changed.after["secret_changed"] is True

    plain = console.post(url, {**data, "is_active": ""})
    assert plain.status_code == 302
    connector.refresh_from_db()
    assert connector.is_active is False
    assert console.get(reverse("admin:reports_grcconnector_delete", args=[connector.pk])).status_code == 403


@pytest.mark.parametrize("kind", ["webhook", "connector"])
def test_it_keeps_test_events_to_administrators(client, maya, credit_risk, admin_user, kind):
    if kind == "webhook":
        target = notifications.webhook_create(actor=admin_user, url="https://hooks.example.com/", events=[])
        url = reverse("admin:workflow_webhookendpoint_test", args=[target.pk])
    else:
        target = connectors.connector_create(
            actor=admin_user, name="archer", kind="webhook", url="https://grc.example.com/", events=[]
        )
        url = reverse("admin:reports_grcconnector_test", args=[target.pk])
    client.force_login(maya)
    assert "/admin/login/" in client.post(url)["Location"]
    client.force_login(UserFactory(username="stella", role="validator", teams=[credit_risk], is_staff=True))
    assert client.post(url).status_code == 403
    assert not WebhookDelivery.objects.exists()
