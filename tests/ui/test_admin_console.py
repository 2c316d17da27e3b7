"""The admin console for governance records: every model registered under a readable name and section,
controls, roles and teams edited with structured forms through the services, webhooks through the
notification services, workflow records read-only (and saying so), every change audited.

The policy editor has its own module (test_admin_policy_editor.py); webhooks' and GRC connectors' test
events are in test_admin_delivery.py.
"""

from __future__ import annotations

import pyotp
import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import Team, TotpDevice
from audit.models import AuditEvent
from tests.factories import UserFactory
from workflow.models import Control, EvidenceType, Framework, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("label", ["governance", "workflow"])
def test_it_registers_every_model_of_accounts_and_the_workflow(label):
    missing = [
        model.__name__
        for model in django_apps.get_app_config(label).get_models()
        if not admin.site.is_registered(model)
    ]
    assert missing == []


def test_it_keeps_people_without_staff_status_out(client, maya):
    client.force_login(maya)
    response = client.get(reverse("admin:workflow_policy_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "name",
    [
        "policy",
        "framework",
        "control",
        "evidencetype",
        "approvalrequest",
        "signature",
        "finding",
        "deployment",
        "webhookendpoint",
        "webhookdelivery",
        "totpdevice",
        "evidencedocument",
        "reviewnotice",
    ],
)
def test_it_lists_each_governance_model(console, name):
    label = "governance" if name == "totpdevice" else "workflow"
    assert console.get(reverse(f"admin:{label}_{name}_changelist")).status_code == 200


def test_it_audits_a_change_to_reference_data(console):
    framework = Framework.objects.order_by("pk").first()
    url = reverse("admin:workflow_framework_change", args=[framework.pk])
    data = {
        "key": framework.key,
        "title": "Renamed framework",
        "source": framework.source,
        "url": framework.url,
    }
    assert console.post(url, data).status_code == 302
    event = AuditEvent.objects.filter(action="admin.changed", object_type="governance.framework").latest(
        "seq"
    )
    assert event.object_id == str(framework.pk)
    assert event.actor_username == "admin"
    added = console.post(
        reverse("admin:workflow_evidencetype_add"), {"key": "fairness_memo", "title": "Fairness memo"}
    )
    assert added.status_code == 302
    assert EvidenceType.objects.filter(key="fairness_memo").exists()
    assert AuditEvent.objects.filter(action="admin.changed", object_id="fairness_memo").exists()


@pytest.mark.parametrize("name", ["approvalrequest", "signature", "finding", "deployment", "webhookdelivery"])
def test_it_keeps_workflow_records_read_only(console, name):
    assert console.get(reverse(f"admin:workflow_{name}_add")).status_code == 403


def test_it_creates_a_webhook_through_the_service_and_shows_its_secret_once(console):
    data = {
        "url": "https://grc.example.com/hooks",
        "description": "GRC",
        "events": ["finding.raised"],
        "team": "",
    }
    response = console.post(reverse("admin:workflow_webhookendpoint_add"), data)
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert endpoint.events == ["finding.raised"]
    assert AuditEvent.objects.filter(action="webhook.created", object_id=str(endpoint.pk)).exists()
    change = console.get(reverse("admin:workflow_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in change.content.decode()


def test_it_changes_a_webhook_through_the_service(console, admin_user):
    from workflow.services import notifications

    endpoint = notifications.webhook_create(actor=admin_user, url="https://a.example.com/", events=[])
    url = reverse("admin:workflow_webhookendpoint_change", args=[endpoint.pk])
    data = {
        "url": "https://b.example.com/",
        "description": "",
        "events": ["approval.approved"],
        "is_active": "on",
    }
    assert console.post(url, data).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == ("https://b.example.com/", ["approval.approved"])
    changed = AuditEvent.objects.get(action="webhook.changed", object_id=str(endpoint.pk))
    assert changed.before["url"] == "https://a.example.com/"
    refused = console.post(url, {**data, "url": "ftp://c.example.com/"})
    assert refused.status_code == 200
    assert "url" in refused.context["adminform"].form.errors


def test_it_lets_an_admin_remove_an_authenticator_but_not_read_or_edit_it(console, victor):
    device = TotpDevice.objects.create(user=victor, secret=pyotp.random_base32(), confirmed=True)
    change = console.get(reverse("admin:governance_totpdevice_change", args=[device.pk]))
    assert change.status_code == 200
    assert device.secret not in change.content.decode()
    assert b'name="_save"' not in change.content
    assert console.get(reverse("admin:governance_totpdevice_add")).status_code == 403
    deleted = console.post(reverse("admin:governance_totpdevice_delete", args=[device.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert not TotpDevice.objects.exists()
    assert AuditEvent.objects.filter(action="auth.totp_removed", object_id=str(victor.pk)).exists()


# --- names, sections and read-only pages -------------------------------------------------------------


def test_it_groups_the_index_by_task_with_proper_names(console):
    page = console.get(reverse("admin:index")).content.decode()
    for heading in ("People and access", "Policies and controls", "Notifications and GRC delivery"):
        assert heading in page
    for name in ("Policies", "Model aliases", "GRC connectors", "Webhook deliveries", "Roles", "Teams"):
        assert f">{name}</a>" in page
    for wrong in ("Policys", "aliass", "deliverys", "Grc connectors", "Groups"):
        assert wrong not in page


def test_it_shows_the_printed_name_instead_of_a_method_name(console, maya):
    page = console.get(reverse("admin:governance_user_changelist")).content.decode()
    assert "Printed name" in page
    assert "Get full name" not in page
    assert "ML engineer" in page  # maya's role, by its label


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:audit_auditevent_changelist",
        "admin:workflow_signature_changelist",
        "admin:monitoring_checkrun_changelist",
        "admin:registry_registeredmodel_changelist",
        "admin:reports_grcdelivery_changelist",
    ],
)
def test_it_says_why_a_record_list_is_read_only(console, url_name):
    page = console.get(reverse(url_name))
    assert page.status_code == 200
    assert b"Read-only." in page.content
    assert page.context["has_add_permission"] is False


# --- controls ------------------------------------------------------------------------------------------


def test_it_lists_controls_with_their_titles_and_criteria(console):
    page = console.get(reverse("admin:workflow_control_changelist")).content.decode()
    assert "Evaluation of conceptual soundness" in page
    assert "evidence: conceptual_soundness_memo" in page
    assert "every item of EU AI Act Annex IV section 1" in page


def test_it_edits_what_satisfies_a_control_with_boxes_and_audits_it(console):
    control = Control.objects.get(key="SR11-7.VAL.OM")  # {"checks": ["drift"], "monitoring_plan": true}
    url = reverse("admin:workflow_control_change", args=[control.pk])
    assert console.get(url).status_code == 200
    data = {
        "framework": control.framework_id,
        "key": control.key,
        "title": control.title,
        "description": control.description,
        "checks": ["drift", "performance"],
        "monitoring_plan": "on",
        "lineage": "on",
    }
    assert console.post(url, data).status_code == 302
    control.refresh_from_db()
    assert control.satisfied_by == {
        "checks": ["drift", "performance"],
        "monitoring_plan": True,
        "lineage": True,
    }
    event = AuditEvent.objects.filter(action="admin.changed", object_type="governance.control").latest("seq")
    assert event.before["checks"] == ["drift"]
    assert event.after["checks"] == ["drift", "performance"]
    assert event.after["lineage"] is True


def test_it_refuses_a_control_that_nothing_would_fail(console):
    control = Control.objects.get(key="SR11-7.VAL.OA")
    url = reverse("admin:workflow_control_change", args=[control.pk])
    data = {"framework": control.framework_id, "key": control.key, "title": control.title, "description": ""}
    response = console.post(url, data)
    assert response.status_code == 200
    assert "Tick at least one criterion" in str(response.context["adminform"].form.non_field_errors())
    control.refresh_from_db()
    assert control.satisfied_by == {"checks": ["performance"]}


def test_it_shows_an_annex_iv_control_read_only_with_its_section(console):
    control = Control.objects.get(key="AIA-IV.2")
    url = reverse("admin:workflow_control_change", args=[control.pk])
    page = console.get(url).content.decode()
    assert "follows the item statuses of EU AI Act Annex IV section 2" in page
    assert "2(d) Data requirements" in page
    assert 'name="checks"' not in page
    data = {"framework": control.framework_id, "key": control.key, "title": "Renamed", "description": ""}
    assert console.post(url, data).status_code == 302
    control.refresh_from_db()
    assert (control.title, control.satisfied_by) == ("Renamed", {"annex_iv": "2"})


# --- roles, teams and people -----------------------------------------------------------------------------


def test_it_lists_the_five_roles_apart_from_teams(console, credit_risk):
    page = console.get(reverse("admin:auth_group_changelist"))
    names = sorted(group.name for group in page.context["cl"].result_list)
    assert names == ["admin", "auditor", "ml-engineer", "risk-officer", "validator"]
    assert "Validator" in page.content.decode()
    assert console.get(reverse("admin:auth_group_add")).status_code == 403


def test_it_gives_a_role_through_the_service_and_audits_it(console, olga):
    validator = Group.objects.get(name="validator")
    url = reverse("admin:auth_group_change", args=[validator.pk])
    page = console.get(url)
    assert "validate" in page.content.decode()  # what the role may do, from access.ACTION_ROLES
    members = [user.pk for user in validator.user_set.all()]
    assert console.post(url, {"members": [*members, olga.pk]}).status_code == 302
    assert olga.groups.filter(name="validator").exists()
    assert olga.groups.filter(name="ml-engineer").exists()  # her other role is kept
    event = AuditEvent.objects.get(action="user.roles_changed", object_id=str(olga.pk))
    assert (event.before, event.after) == (["ml-engineer"], ["ml-engineer", "validator"])


def test_it_will_not_let_an_administrator_remove_their_own_role(console, admin_user):
    role = Group.objects.get(name="admin")
    response = console.post(reverse("admin:auth_group_change", args=[role.pk]), {"members": []})
    assert response.status_code == 200
    assert "your own administrator role" in str(response.context["adminform"].form.errors)
    assert admin_user.groups.filter(name="admin").exists()


def test_it_creates_a_team_with_members_through_the_services(console, maya, victor):
    data = {"name": "pricing", "title": "Pricing models", "description": "", "members": [maya.pk, victor.pk]}
    assert console.post(reverse("admin:governance_team_add"), data).status_code == 302
    team = Team.objects.get(name="pricing")
    assert sorted(team.members.values_list("username", flat=True)) == ["maya", "victor"]
    assert team.group.name == "team:pricing"
    assert AuditEvent.objects.filter(action="team.created", object_id=str(team.pk)).exists()
    assert AuditEvent.objects.filter(action="team.member_added", object_id=str(team.pk)).count() == 2

    url = reverse("admin:governance_team_change", args=[team.pk])
    changed = {"title": "Pricing", "description": "", "members": [maya.pk]}
    assert console.post(url, changed).status_code == 302
    removed = AuditEvent.objects.get(action="team.member_removed", object_id=str(team.pk))
    assert removed.before == {"user": "victor"}
    assert console.get(reverse("admin:governance_team_delete", args=[team.pk])).status_code == 403


def test_it_changes_a_persons_roles_and_teams_with_boxes(console, olga, credit_risk, fraud):
    url = reverse("admin:governance_user_change", args=[olga.pk])
    form = console.get(url).context["adminform"].form
    assert form["roles"].initial == ["ml-engineer"]
    assert list(form["teams"].initial) == [fraud]
    data = {
        "username": "olga",
        "first_name": olga.first_name,
        "last_name": olga.last_name,
        "email": olga.email,
        "is_active": "on",
        "roles": ["validator"],
        "teams": [credit_risk.pk],
    }
    assert console.post(url, data).status_code == 302
    assert sorted(olga.groups.values_list("name", flat=True)) == ["team:credit-risk", "validator"]
    assert AuditEvent.objects.filter(action="user.roles_changed", object_id=str(olga.pk)).exists()
    assert AuditEvent.objects.filter(action="team.member_added", object_id=str(credit_risk.pk)).exists()
    assert AuditEvent.objects.filter(action="team.member_removed", object_id=str(fraud.pk)).exists()


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:auth_group_changelist",
        "admin:governance_team_changelist",
        "admin:workflow_control_changelist",
    ],
)
def test_it_keeps_non_administrators_out_of_the_people_and_catalogue_pages(
    client, maya, credit_risk, url_name
):
    client.force_login(maya)
    assert "/admin/login/" in client.get(reverse(url_name))["Location"]
    staff = UserFactory(username="stella", role="validator", teams=[credit_risk], is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(url_name)).status_code == 403
