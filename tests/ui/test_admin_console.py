"""The admin console for governance records: every model registered, policies versioned through the
service, webhooks through the notification services, workflow records read-only, every change audited."""

from __future__ import annotations

import importlib
import json

import pyotp
import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.urls import reverse

from governance.models import (
    AuditEvent,
    EvidenceType,
    Framework,
    Policy,
    TotpDevice,
    WebhookEndpoint,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalogue(db):
    """The seeded policies and control catalogue (a transactional test may have flushed the seed data)."""
    if not Policy.objects.exists():
        migration = importlib.import_module("governance.migrations.0006_seed_catalogue_and_policies")
        migration.seed(django_apps, None)


@pytest.fixture
def console(client, admin_user):
    client.force_login(admin_user)
    return client


def policy_form(policy: Policy, **changes) -> dict:
    """The change form's POST data for ``policy``, with ``changes``."""
    data = {
        "name": policy.name,
        "required_checks": json.dumps(policy.required_checks),
        "required_evidence": json.dumps(policy.required_evidence),
        "stages": json.dumps(policy.stages),
        "gated_environments": json.dumps(policy.gated_environments),
        "segregation": json.dumps(policy.segregation),
        "review_frequency_months": policy.review_frequency_months,
        "approval_valid_months": policy.approval_valid_months,
        "blocking_finding_severity": policy.blocking_finding_severity,
        "review_trigger_severity": policy.review_trigger_severity,
        "evidence_change": policy.evidence_change,
    }
    return {**data, **changes}


def test_it_registers_every_governance_model():
    missing = [
        model.__name__
        for model in django_apps.get_app_config("governance").get_models()
        if not admin.site.is_registered(model)
    ]
    assert missing == []


def test_it_keeps_people_without_staff_status_out(client, maya):
    client.force_login(maya)
    response = client.get(reverse("admin:governance_policy_changelist"))
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
    assert console.get(reverse(f"admin:governance_{name}_changelist")).status_code == 200


def test_it_saves_a_policy_edit_as_a_new_version_and_keeps_the_old_one(console, admin_user):
    old = Policy.objects.get(tier=3, is_active=True)
    url = reverse("admin:governance_policy_change", args=[old.pk])
    assert console.get(url).status_code == 200
    response = console.post(url, policy_form(old, approval_valid_months=6, name="Tier 3, shorter approvals"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    new = Policy.objects.get(tier=3, is_active=True)
    assert new.pk != old.pk
    assert (new.version, new.approval_valid_months, new.created_by) == (old.version + 1, 6, admin_user)
    kept = Policy.objects.get(pk=old.pk)
    assert (kept.is_active, kept.approval_valid_months, kept.name) == (
        False,
        old.approval_valid_months,
        old.name,
    )
    actions = set(
        AuditEvent.objects.filter(object_id=str(new.pk), object_type="governance.policy").values_list(
            "action", flat=True
        )
    )
    assert {"policy.created", "policy.activated", "admin.changed"} <= actions


def test_it_adds_a_policy_version_for_a_tier_through_the_service(console):
    current = Policy.objects.get(tier=2, is_active=True)
    data = {**policy_form(current, name="Tier 2 v-next"), "tier": 2}
    response = console.post(reverse("admin:governance_policy_add"), data)
    assert response.status_code == 302
    assert Policy.objects.get(tier=2, is_active=True).name == "Tier 2 v-next"
    assert Policy.objects.filter(tier=2).count() == 2


def test_it_shows_the_services_rule_errors_and_creates_no_version(console):
    old = Policy.objects.get(tier=3, is_active=True)
    bad_stages = json.dumps(
        [{"key": "validation", "title": "V", "role": "nobody", "quorum": 1, "meaning": "approval"}]
    )
    response = console.post(
        reverse("admin:governance_policy_change", args=[old.pk]), policy_form(old, stages=bad_stages)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "stages" in errors
    assert "stages[0].role" in errors["stages"][0]
    assert Policy.objects.filter(tier=3).count() == 1


def test_it_never_deletes_a_policy_version(console):
    policy = Policy.objects.get(tier=1, is_active=True)
    assert console.get(reverse("admin:governance_policy_delete", args=[policy.pk])).status_code == 403


def test_it_audits_a_change_to_reference_data(console):
    framework = Framework.objects.order_by("pk").first()
    url = reverse("admin:governance_framework_change", args=[framework.pk])
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
        reverse("admin:governance_evidencetype_add"), {"key": "fairness_memo", "title": "Fairness memo"}
    )
    assert added.status_code == 302
    assert EvidenceType.objects.filter(key="fairness_memo").exists()
    assert AuditEvent.objects.filter(action="admin.changed", object_id="fairness_memo").exists()


@pytest.mark.parametrize("name", ["approvalrequest", "signature", "finding", "deployment", "webhookdelivery"])
def test_it_keeps_workflow_records_read_only(console, name):
    assert console.get(reverse(f"admin:governance_{name}_add")).status_code == 403


def test_it_creates_a_webhook_through_the_service_and_shows_its_secret_once(console):
    data = {
        "url": "https://grc.example.com/hooks",
        "description": "GRC",
        "events": ["finding.raised"],
        "team": "",
    }
    response = console.post(reverse("admin:governance_webhookendpoint_add"), data)
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert endpoint.events == ["finding.raised"]
    assert AuditEvent.objects.filter(action="webhook.created", object_id=str(endpoint.pk)).exists()
    change = console.get(reverse("admin:governance_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in change.content.decode()


def test_it_changes_a_webhook_through_the_service(console, admin_user):
    from governance.services import notifications

    endpoint = notifications.webhook_create(actor=admin_user, url="https://a.example.com/", events=[])
    url = reverse("admin:governance_webhookendpoint_change", args=[endpoint.pk])
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
    assert AuditEvent.objects.filter(action="admin.changed", object_type="governance.totpdevice").exists()
