"""The admin console writes through the services and is audited with their actions, as the API and the pages
are; ``admin.changed`` is left for the reference data that has no service (frameworks, evidence types,
controls). People and teams are never deleted: a person who leaves is deactivated."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.models import AuditEvent, Team, User
from governance.services import accounts

pytestmark = pytest.mark.django_db


def actions_on(obj) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(obj.pk), object_type=obj._meta.label_lower)
        .order_by("seq")
        .values_list("action", flat=True)
    )


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
