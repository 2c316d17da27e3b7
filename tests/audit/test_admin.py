"""The audit admin is read-only for everyone, superusers included."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit import checkpoints
from tests.audit.conftest import write_events

pytestmark = pytest.mark.django_db


def test_it_shows_events_to_a_superuser_but_refuses_add_change_and_delete(client, admin_user, signing_key):
    (event,) = write_events(1)
    checkpoints.create()
    client.force_login(admin_user)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.seq]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view page, not a form
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_delete", args=[event.seq])).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_change", args=[event.seq]), {}).status_code == 403
    assert client.get(reverse("admin:audit_auditcheckpoint_add")).status_code == 403
    assert client.get(reverse("admin:audit_auditcheckpoint_delete", args=[1])).status_code == 403
    assert client.get(reverse("admin:audit_auditverification_add")).status_code == 403


def test_it_offers_no_bulk_delete_action(client, admin_user):
    write_events(1)
    client.force_login(admin_user)
    page = client.get(reverse("admin:audit_auditevent_changelist"))
    assert b"delete_selected" not in page.content
