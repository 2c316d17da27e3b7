"""Outgoing webhooks in the Standard Webhooks format, delivered to a real local receiver."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from tests.workflow.helpers import error
from workflow import tasks
from workflow.models import WebhookDelivery, WebhookEndpoint
from workflow.services import findings as finding_services
from workflow.services import notifications

# Receivers listen on 127.0.0.1, which config.outbound refuses unless an administrator allows it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbound_loopback_allowed")]
WEBHOOKS = reverse("api:webhook-list")


class Receiver:
    """An HTTP server on 127.0.0.1 answering each POST with the next scripted status (then 204)."""

    def __init__(self, statuses=(204,)):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.received.append({"path": self.path, "headers": headers, "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", receiver.url("/elsewhere"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def create_endpoint(api, admin_user, url: str, events=()) -> dict:
    response = api.as_user(admin_user).post(WEBHOOKS, {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def raise_finding(victor, version):
    return finding_services.finding_raise(actor=victor, model=version.model, severity="high", title="Leakage")


def test_it_delivers_a_verifiable_standard_webhook(api, admin_user, victor, quick_version, receiver):
    """GIVEN an endpoint created through the API, its secret shown once
    WHEN a finding is raised and its delivery runs
    THEN the receiver gets one POST whose body and headers verify with the standardwebhooks library,
    and the delivery log says delivered."""
    endpoint = create_endpoint(api, admin_user, receiver.url(), events=["finding.raised"])
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in api.get(reverse("api:webhook-detail", args=[endpoint["id"]])).json()
    finding = raise_finding(victor, quick_version)

    delivery = notifications.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)

    assert delivery.status == "delivered"
    (message,) = receiver.received
    payload = Webhook(endpoint["secret"]).verify(message["body"], message["headers"])
    assert payload["type"] == "finding.raised"
    assert payload["data"]["finding"] == finding.pk
    assert payload["data"]["severity"] == "high"
    assert message["headers"]["webhook-id"] == delivery.message_id
    assert message["headers"]["content-type"] == "application/json"
    with pytest.raises(Exception, match="signature"):
        Webhook(notifications.new_secret()).verify(message["body"], message["headers"])
    log = api.get(reverse("api:webhook-deliveries", args=[endpoint["id"]])).json()["results"]
    assert [(row["event_type"], row["status"], row["attempts"], row["last_status_code"]) for row in log] == [
        ("finding.raised", "delivered", 1, 204)
    ]


def test_it_sends_only_subscribed_events_and_only_its_team_s(
    api, admin_user, victor, olga, fraud, quick_version, receiver
):
    """GIVEN an endpoint for approvals only, and one scoped to the fraud team
    WHEN a credit-risk finding is raised
    THEN neither gets a delivery; an endpoint for every event does."""
    create_endpoint(api, admin_user, receiver.url("/approvals"), events=["approval.approved"])
    notifications.webhook_create(actor=admin_user, url=receiver.url("/fraud"), events=[], team=fraud)
    everything = create_endpoint(api, admin_user, receiver.url("/all"))

    raise_finding(victor, quick_version)

    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [everything["id"]]


def make_due(delivery_id: int) -> None:
    """Travel to the time the next attempt is due (the row's ``next_attempt_at`` moved to the past)."""
    WebhookDelivery.objects.filter(pk=delivery_id, next_attempt_at__isnull=False).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def scheduled_backoff(delivery, before, after, expected: int | None) -> bool:
    """Whether the next attempt is ``expected`` seconds after the save, which happened in [before, after]."""
    if expected is None:
        return delivery.next_attempt_at is None
    backoff = dt.timedelta(seconds=expected)
    return before + backoff <= delivery.next_attempt_at <= after + backoff


def test_it_retries_with_exponential_backoff_and_logs_each_attempt(api, admin_user, victor, quick_version):
    """GIVEN a receiver that answers 500, then 503, then 204
    WHEN the delivery is attempted three times
    THEN it is retrying after 30 s, then after 60 s, then delivered; the log keeps the last failure."""
    with Receiver([500, 503, 204]) as flaky:
        endpoint = create_endpoint(api, admin_user, flaky.url())
        raise_finding(victor, quick_version)
        delivery_id = WebhookDelivery.objects.get().pk
        attempts = []
        for expected in (30, 60, None):
            make_due(delivery_id)
            before = timezone.now()
            delivery = notifications.webhook_deliver(delivery_id=delivery_id)
            on_time = scheduled_backoff(delivery, before, timezone.now(), expected)
            attempts.append((delivery.status, delivery.attempts, delivery.last_status_code, on_time))

    assert attempts == [
        ("retrying", 1, 500, True),
        ("retrying", 2, 503, True),
        ("delivered", 3, 204, True),
    ]
    assert [notifications.retry_delay(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert len({message["headers"]["webhook-id"] for message in flaky.received}) == 1
    row = api.get(reverse("api:webhook-deliveries", args=[endpoint["id"]])).json()["results"][0]
    assert (row["status"], row["attempts"], row["delivered_at"] is not None) == ("delivered", 3, True)


def test_it_retries_through_the_celery_task_until_delivered(admin_user, victor, quick_version):
    """GIVEN a receiver that fails twice
    WHEN the delivery task runs (eagerly: its retry runs in line, before it is due), then again each
    time the next attempt falls due
    THEN an early retry does nothing, and the task ends delivered after three attempts."""
    with Receiver([502, 500, 200]) as flaky:
        notifications.webhook_create(actor=admin_user, url=flaky.url(), events=[])
        raise_finding(victor, quick_version)
        delivery = WebhookDelivery.objects.get()

        results = [tasks.deliver_webhook.apply(args=[delivery.pk]).get()]
        for _ in range(2):
            make_due(delivery.pk)
            results.append(tasks.deliver_webhook.apply(args=[delivery.pk]).get())

    delivery.refresh_from_db()
    assert results == ["retrying", "retrying", "delivered"]
    assert (delivery.status, delivery.attempts, len(flaky.received)) == ("delivered", 3, 3)


def test_it_gives_up_after_the_last_attempt(admin_user, victor, quick_version):
    """GIVEN a receiver that is not listening
    WHEN the delivery has used every attempt
    THEN it is failed with the connection error logged and no further attempt scheduled."""
    with Receiver() as gone:
        url = gone.url()
    notifications.webhook_create(actor=admin_user, url=url, events=[])
    raise_finding(victor, quick_version)
    delivery = WebhookDelivery.objects.get()

    for _ in range(notifications.MAX_ATTEMPTS):
        make_due(delivery.pk)
        delivery = notifications.webhook_deliver(delivery_id=delivery.pk)

    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert delivery.last_status_code is None
    assert "Connection refused" in delivery.last_error or "URLError" in delivery.last_error


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_it_does_not_follow_redirects(admin_user, victor, quick_version, status):
    """GIVEN a receiver that redirects to another path
    WHEN the delivery runs
    THEN the redirect is a failed attempt: nothing is sent to the redirect target."""
    with Receiver([status]) as redirecting:
        notifications.webhook_create(actor=admin_user, url=redirecting.url(), events=[])
        raise_finding(victor, quick_version)

        delivery = notifications.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)

    assert (delivery.status, delivery.last_status_code) == ("retrying", status)
    assert [message["path"] for message in redirecting.received] == ["/hook"]


def test_it_lets_only_administrators_manage_endpoints(api, admin_user, maya, victor, rita, aaron, receiver):
    """GIVEN an endpoint
    WHEN each non-administrator lists, creates, changes or deletes; then the administrator does
    THEN 403 for all of them (401 anonymous); the administrator's changes are audited."""
    endpoint = create_endpoint(api, admin_user, receiver.url())
    detail = reverse("api:webhook-detail", args=[endpoint["id"]])

    for user in (maya, victor, rita, aaron):
        client = api.as_user(user)
        assert client.get(WEBHOOKS).status_code == 403, user.username
        assert client.post(WEBHOOKS, {"url": receiver.url()}, format="json").status_code == 403
        assert client.patch(detail, {"is_active": False}, format="json").status_code == 403
        assert client.delete(detail).status_code == 403
    assert api.as_user(None).get(WEBHOOKS).status_code == 401

    bad = api.as_user(admin_user).post(
        WEBHOOKS, {"url": receiver.url(), "events": ["model.eaten"]}, format="json"
    )
    assert (bad.status_code, list(error(bad)["fields"])) == (400, ["events.0"])
    changed = api.patch(detail, {"is_active": False, "events": ["gate.closed"]}, format="json")
    assert (changed.json()["is_active"], changed.json()["events"]) == (False, ["gate.closed"])
    assert api.delete(detail).status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_it_signs_the_exact_bytes_it_sends(admin_user, victor, quick_version, receiver):
    """GIVEN a delivery whose payload holds non-ASCII text
    WHEN it is delivered
    THEN the received bytes are the JSON of the stored payload and verify as sent."""
    endpoint = notifications.webhook_create(actor=admin_user, url=receiver.url(), events=[])
    finding_services.finding_raise(
        actor=victor, model=quick_version.model, severity="low", title="Größe ≠ size"
    )
    delivery = notifications.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)

    (message,) = receiver.received
    assert json.loads(message["body"]) == delivery.payload
    assert (
        Webhook(endpoint.secret).verify(message["body"], message["headers"])["data"]["title"]
        == "Größe ≠ size"
    )
    sent_at = dt.datetime.fromtimestamp(int(message["headers"]["webhook-timestamp"]), tz=dt.UTC)
    assert abs((timezone.now() - sent_at).total_seconds()) < 60
