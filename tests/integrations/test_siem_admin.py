"""SIEM destinations through the API and the admin console: administrators only, the token write-only,
bad input a 400 naming the field, every change audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from integrations.models import SiemDestination

DESTINATIONS = "/api/v1/siem/destinations/"


@pytest.fixture(autouse=True)
def _loopback(outbound_loopback_allowed):
    pass


def test_administrators_create_and_change_destinations_with_a_write_only_token(api, admin_user):
    created = api.as_user(admin_user).post(
        DESTINATIONS,
        {"name": "splunk", "kind": "splunk_hec", "url": "https://127.0.0.1:8088", "token": "hec-s3cret"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "token" not in body
    assert body["token_set"] is True
    assert (body["last_seq_sent"], body["batch_size"], body["enabled"]) == (0, 500, True)
    assert body["lag"] >= 1  # its own creation is waiting to be sent

    changed = api.as_user(admin_user).patch(
        f"{DESTINATIONS}splunk/", {"batch_size": 50, "token": "rotated-s3cret"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["batch_size"] == 50
    assert SiemDestination.objects.get(name="splunk").token == "rotated-s3cret"
    listed = api.as_user(admin_user).get(DESTINATIONS).json()
    assert "s3cret" not in str(listed)

    events = AuditEvent.objects.filter(action__startswith="siem.").order_by("seq")
    assert [event.action for event in events] == ["siem.destination_created", "siem.destination_changed"]
    assert events.last().after["token_changed"] is True
    for event in events:
        assert "s3cret" not in bytes(event.canonical).decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "syslog", "host": "127.0.0.1"}, "port"),
        ({"kind": "syslog", "port": 601}, "host"),
        ({"kind": "syslog", "host": "10.1.2.3", "port": 601}, "host"),  # private, not allow-listed
        ({"kind": "syslog", "host": "127.0.0.1", "port": 601, "token": "x"}, "token"),
        ({"kind": "syslog_tls", "host": "127.0.0.1", "port": 6514, "ca_bundle": "not a PEM"}, "ca_bundle"),
        ({"kind": "syslog", "host": "127.0.0.1", "port": 601, "batch_size": 0}, "batch_size"),
        ({"kind": "syslog", "host": "127.0.0.1", "port": 601, "batch_size": 1001}, "batch_size"),
        ({"kind": "splunk_hec", "url": "https://127.0.0.1:8088"}, "token"),
        ({"kind": "otlp_http", "url": "ftp://127.0.0.1/"}, "url"),
        ({"kind": "otlp_http", "url": "http://169.254.169.254/"}, "url"),
        ({"kind": "carrier_pigeon", "url": "https://127.0.0.1/"}, "kind"),
        ({"kind": "syslog", "host": "127.0.0.1", "port": 601, "format": "xml"}, "format"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, admin_user, body, field):
    answer = api.as_user(admin_user).post(DESTINATIONS, {"name": "bad", **body}, format="json")
    assert answer.status_code == 400, answer.json()
    assert field in answer.json()["error"]["fields"]
    assert not SiemDestination.objects.exists()


def test_only_administrators_reach_the_destinations(api, admin_user, maya, aaron, rita):
    SiemDestination.objects.create(
        name="soc", kind="syslog", host="127.0.0.1", port=601, created_by=admin_user
    )
    for user in (maya, aaron, rita):
        assert api.as_user(user).get(DESTINATIONS).status_code == 403
        assert api.as_user(user).get(f"{DESTINATIONS}soc/").status_code == 403
        assert api.as_user(user).post(DESTINATIONS, {}, format="json").status_code == 403
        assert (
            api.as_user(user).patch(f"{DESTINATIONS}soc/", {"enabled": False}, format="json").status_code
            == 403
        )
    assert api.as_user(None).get(DESTINATIONS).status_code == 401
    assert SiemDestination.objects.get(name="soc").enabled is True


def test_the_console_adds_a_destination_through_the_service_and_never_shows_the_token(console, admin_user):
    form = {
        "name": "otel",
        "kind": "otlp_http",
        "url": "http://127.0.0.1:4318",
        "token": "Bearer console-s3cret",
        "format": "cef",
        "enabled": "on",
        "batch_size": "200",
    }
    added = console.post(reverse("admin:integrations_siemdestination_add"), form)
    assert added.status_code == 302, added.content.decode()[:2000]
    destination = SiemDestination.objects.get(name="otel")
    assert destination.token == "Bearer console-s3cret"
    assert AuditEvent.objects.filter(action="siem.destination_created").count() == 1

    page = console.get(reverse("admin:integrations_siemdestination_change", args=[destination.pk]))
    assert page.status_code == 200
    assert "console-s3cret" not in page.content.decode()

    refused = console.post(
        reverse("admin:integrations_siemdestination_add"), {**form, "name": "x", "url": "http://10.0.0.9/"}
    )
    assert refused.status_code == 200  # the form again, with the service's reason at the field
    assert "ATTEST_OUTBOUND_ALLOW_HOSTS" in refused.content.decode()
