"""The admin console's identity-provider pages: provider and mappings saved through the service and
audited, the client secret write-only, the issuer under the outbound address policy."""

import pytest

from accounts.models import GroupMapping, IdentityProvider
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ADD = "/admin/governance/identityprovider/add/"


def provider_form(**overrides) -> dict:
    data = {
        "name": "okta",
        "title": "Okta",
        "protocol": "oidc",
        "enabled": "on",
        "issuer": "https://corp.okta.example",
        "client_id": "attest",
        "client_secret": "first-secret",
        "scopes": "openid email profile groups",
        "metadata_url": "",
        "metadata_xml": "",
        "groups_claim": "groups",
        "step_up_acr": "",
        "step_up_max_age_seconds": "120",
        "mappings-TOTAL_FORMS": "1",
        "mappings-INITIAL_FORMS": "0",
        "mappings-MIN_NUM_FORMS": "0",
        "mappings-MAX_NUM_FORMS": "1000",
        "mappings-0-group": "mrm-validators",
        "mappings-0-role": "validator",
        "mappings-0-team": "",
    }
    return data | overrides


def test_an_administrator_adds_a_provider_with_a_mapping_audited_without_the_secret(console):
    response = console.post(ADD, provider_form())

    assert response.status_code == 302, response.content.decode()[:3000]
    provider = IdentityProvider.objects.get(name="okta")
    assert provider.client_secret == "first-secret"
    assert GroupMapping.objects.get(provider=provider).role == "validator"
    created = AuditEvent.objects.get(action="sso.provider_created")
    assert created.after["client_secret_set"] is True
    assert "first-secret" not in str(created.after)
    assert AuditEvent.objects.get(action="sso.mapping_changed").after["verb"] == "added"


def test_the_secret_is_never_shown_and_a_blank_one_keeps_it(console):
    console.post(ADD, provider_form())
    provider = IdentityProvider.objects.get(name="okta")
    mapping = provider.mappings.get()
    change = f"/admin/governance/identityprovider/{provider.pk}/change/"

    page = console.get(change).content.decode()
    edited = provider_form(
        client_secret="",
        title="Okta Workforce",
        **{
            "mappings-INITIAL_FORMS": "1",
            "mappings-0-id": str(mapping.pk),
            "mappings-0-provider": str(provider.pk),
            "mappings-0-DELETE": "on",
        },
    )
    response = console.post(change, edited)

    assert "first-secret" not in page
    assert response.status_code == 302, response.content.decode()[:3000]
    provider.refresh_from_db()
    assert (provider.title, provider.client_secret) == ("Okta Workforce", "first-secret")
    assert not provider.mappings.exists()
    changed = AuditEvent.objects.get(action="sso.provider_changed")
    assert changed.after["changed"] == ["title"]
    mapping_events = AuditEvent.objects.filter(action="sso.mapping_changed").order_by("seq")
    assert [event.after["verb"] for event in mapping_events] == ["added", "removed"]


def test_a_private_issuer_is_refused_unless_allow_listed(console, settings):
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = []

    refused = console.post(ADD, provider_form(issuer="http://127.0.0.1:8080"))

    assert refused.status_code == 200
    assert "private or local" in refused.content.decode()
    assert not IdentityProvider.objects.exists()
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    assert console.post(ADD, provider_form(issuer="http://127.0.0.1:8080")).status_code == 302


def test_the_mapping_list_changes_a_mapping_audited(console, credit_risk):
    console.post(ADD, provider_form())
    mapping = GroupMapping.objects.get()

    response = console.post(
        f"/admin/governance/groupmapping/{mapping.pk}/change/",
        {"provider": mapping.provider_id, "group": "mrm-validators", "role": "", "team": credit_risk.pk},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    mapping.refresh_from_db()
    assert (mapping.role, mapping.team_id) == ("", credit_risk.pk)
    changed = AuditEvent.objects.filter(action="sso.mapping_changed").latest("seq")
    assert (changed.before["role"], changed.after["team"], changed.after["verb"]) == (
        "validator",
        "credit-risk",
        "changed",
    )
