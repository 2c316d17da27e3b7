"""The admin console writes through the services and is audited with their actions, as the API and the pages
are; ``admin.changed`` is left for the reference data that has no service (frameworks, evidence types,
controls). People and teams are never deleted: a person who leaves is deactivated."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.admin_support import AuditedAdmin, ReadOnlyAdmin, ServiceAdmin
from accounts.models import ApiToken, AuthThrottle, Team, TotpDevice, User
from accounts.services import accounts, lockout
from audit.models import AuditEvent
from audit.recorder import object_type
from workflow.models import Control, EvidenceType, Framework
from workflow.services import notifications

pytestmark = pytest.mark.django_db

# The records an administrator edits that have no service: their changes stay ``admin.changed``.
WITHOUT_SERVICE = {Framework, EvidenceType, Control}
# Roles are Django's auth groups; django-celery-beat's schedules are the one third-party page (not audited).
PROJECT_APPS = {"auth", "governance", "registry", "monitoring", "workflow", "reports", "jobs"}


def actions_on(obj) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(obj.pk), object_type=object_type(obj))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_every_editable_page_writes_through_a_service_or_is_reference_data():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS or isinstance(model_admin, ReadOnlyAdmin):
            continue
        if model in WITHOUT_SERVICE:
            assert isinstance(model_admin, AuditedAdmin), model
        else:
            assert isinstance(model_admin, ServiceAdmin), model


def test_it_opens_an_account_as_user_created(console, admin_user):
    data = {"username": "nina", "password1": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42"}
    data["usable_password"] = "true"
    assert console.post(reverse("admin:governance_user_add"), data).status_code == 302
    nina = User.objects.get(username="nina")
    assert nina.check_password("a-long-Passphrase-42")
    assert actions_on(nina) == ["user.created"]
    event = AuditEvent.objects.get(action="user.created", object_id=str(nina.pk))
    assert event.actor_username == admin_user.username
    assert "a-long-Passphrase-42" not in str(event.after)


def test_it_audits_a_change_of_details_as_user_changed_with_before_and_after(console, olga, fraud):
    url = reverse("admin:governance_user_change", args=[olga.pk])
    olga_before = olga.last_name
    data = {
        "username": "olga",
        "first_name": olga.first_name,
        "last_name": "Renamed",
        "email": olga.email,
        "roles": ["ml-engineer"],
        "teams": [fraud.pk],
    }  # is_active left out: the box is cleared, the account closed
    assert console.post(url, data).status_code == 302
    olga.refresh_from_db()
    assert (olga.last_name, olga.is_active) == ("Renamed", False)
    event = AuditEvent.objects.get(action="user.changed", object_id=str(olga.pk))
    assert event.after == {"last_name": "Renamed", "is_active": False}
    assert event.before == {"last_name": olga_before, "is_active": True}
    assert "admin.changed" not in actions_on(olga)


def test_it_never_deletes_an_account(console, olga):
    assert console.get(reverse("admin:governance_user_delete", args=[olga.pk])).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [olga.pk], "post": "yes"}
    console.post(reverse("admin:governance_user_changelist"), bulk)
    assert User.objects.filter(pk=olga.pk).exists()


def test_it_sets_a_password_as_auth_password_changed_naming_the_administrator(console, admin_user, olga):
    url = reverse("admin:auth_user_password_change", args=[olga.pk])
    data = {
        "password1": "another-Passphrase-7",
        "password2": "another-Passphrase-7",
        "usable_password": "true",
    }
    assert console.post(url, data).status_code == 302
    olga.refresh_from_db()
    assert olga.check_password("another-Passphrase-7")
    event = AuditEvent.objects.get(action="auth.password_changed", object_id=str(olga.pk))
    assert event.actor_username == admin_user.username
    assert event.after == {"password_sign_in": True}
    assert "admin.changed" not in actions_on(olga)


def test_it_audits_a_teams_new_title_as_team_changed(console, fraud):
    url = reverse("admin:governance_team_change", args=[fraud.pk])
    members = list(fraud.group.user_set.values_list("pk", flat=True))
    data = {"title": "Fraud Analytics", "description": fraud.description, "members": members}
    assert console.post(url, data).status_code == 302
    fraud.refresh_from_db()
    assert fraud.title == "Fraud Analytics"
    event = AuditEvent.objects.get(action="team.changed", object_id=str(fraud.pk))
    assert (event.before, event.after) == ({"title": "Fraud Detection"}, {"title": "Fraud Analytics"})
    assert actions_on(fraud) == ["team.changed"]


def test_it_changes_nothing_and_records_nothing_when_nothing_changed(admin_user, fraud):
    accounts.team_update(actor=admin_user, team=fraud, title=fraud.title)
    assert actions_on(fraud) == []


def test_it_revokes_a_token_as_token_revoked(console, admin_user, olga):
    token, _ = accounts.token_create(actor=olga, name="ci")
    url = reverse("admin:governance_apitoken_delete", args=[token.pk])
    assert console.post(url, {"post": "yes"}).status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    event = AuditEvent.objects.filter(action="token.revoked", object_id=str(olga.pk)).get()
    assert event.actor_username == admin_user.username
    assert not AuditEvent.objects.filter(action="admin.changed").exists()


def test_it_removes_an_authenticator_as_auth_totp_removed(console, admin_user, victor):
    device = TotpDevice.objects.create(user=victor, secret=pyotp.random_base32(), confirmed=True)
    url = reverse("admin:governance_totpdevice_delete", args=[device.pk])
    assert console.post(url, {"post": "yes"}).status_code == 302
    assert not TotpDevice.objects.exists()
    event = AuditEvent.objects.get(action="auth.totp_removed", object_id=str(victor.pk))
    assert event.actor_username == admin_user.username
    assert not AuditEvent.objects.filter(action="admin.changed").exists()


def test_it_lifts_a_sign_in_lock_as_auth_lock_lifted(console, admin_user):
    now = timezone.now()
    throttle = AuthThrottle.objects.create(
        key=lockout.account_key("olga"),
        failures=5,
        first_failure_at=now,
        last_failure_at=now,
        locked_until=now + timezone.timedelta(minutes=5),
        lockouts=1,
    )
    url = reverse("admin:governance_auththrottle_delete", args=[throttle.pk])
    assert console.post(url, {"post": "yes"}).status_code == 302
    assert not AuthThrottle.objects.exists()
    event = AuditEvent.objects.get(action="auth.lock_lifted")
    assert event.actor_username == admin_user.username
    assert event.before["scope"] == "account"
    assert event.before["failures"] == 5
    assert not AuditEvent.objects.filter(action="admin.changed").exists()


def test_it_audits_a_webhook_change_once_as_the_service_does(console, admin_user):
    endpoint = notifications.webhook_create(actor=admin_user, url="https://a.example.com/", events=[])
    url = reverse("admin:workflow_webhookendpoint_change", args=[endpoint.pk])
    data = {"url": "https://b.example.com/", "description": "", "events": [], "is_active": "on"}
    assert console.post(url, data).status_code == 302
    assert actions_on(endpoint) == ["webhook.created", "webhook.changed"]


def test_it_creates_a_team_without_a_generic_admin_event(console):
    data = {"name": "pricing", "title": "Pricing", "description": "", "members": []}
    assert console.post(reverse("admin:governance_team_add"), data).status_code == 302
    assert actions_on(Team.objects.get(name="pricing")) == ["team.created"]


def test_a_deactivated_person_can_no_longer_use_a_token_or_a_session(api, client, admin_user, olga):
    _token, secret = accounts.token_create(actor=olga)
    client.force_login(olga)
    accounts.user_update(actor=admin_user, user=olga, is_active=False)
    assert api.with_token(secret).get(reverse("api:team-list")).status_code == 401
    assert "/login/" in client.get(reverse("dashboard"))["Location"]
