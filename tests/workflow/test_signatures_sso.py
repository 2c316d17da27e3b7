"""Signing through the identity provider (21 CFR 11.200 for people who sign in by SSO): a one-time
re-authentication, fresh, of the same person, for this signature only; the signature records the IdP and
when it re-authenticated the signer, under the server's signature."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.errors import ReauthenticationFailed
from accounts.models import FederatedIdentity, IdentityProvider
from accounts.services import federation
from accounts.services.federation import SignInAssertion
from audit.models import AuditEvent
from tests.workflow.helpers import error, request_approval
from workflow.models import Signature
from workflow.services.approvals import signed_fields, verify_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def corp(db):
    return IdentityProvider.objects.create(
        name="corp", title="Corp SSO", protocol="oidc", issuer="https://idp.example"
    )


@pytest.fixture
def sso_victor(victor, corp):
    """victor, who signs in through Corp SSO only (no local password)."""
    victor.set_unusable_password()
    victor.save()
    FederatedIdentity.objects.create(
        provider=corp, user=victor, subject="victor-sub", last_login_at=timezone.now()
    )
    return victor


@pytest.fixture
def pending(api, maya, quick_ready_version):
    response = request_approval(api, maya, quick_ready_version)
    assert response.status_code == 201, response.json()
    return response.json()


def reauthenticated(user, provider, purpose, *, at=None, subject="victor-sub", acr=None):
    step_up, _state = federation.step_up_begin(user=user, provider=provider, purpose=purpose)
    answer = SignInAssertion(
        provider=provider,
        subject=subject,
        username=user.username,
        authenticated_at=at or timezone.now(),
        authn_context={"acr": acr} if acr else {},
    )
    return federation.step_up_complete(step_up=step_up, assertion=answer)


def sign(api, user, approval_id, **credentials):
    body = {"decision": "approve", "meaning": "review", "comment": "Reviewed.", **credentials}
    return api.as_user(user).post(reverse("api:signature-list", args=[approval_id]), body, format="json")


def test_a_signature_through_the_idp_records_the_method_and_the_idp_s_time_under_the_server_signature(
    api, sso_victor, corp, pending
):
    step_up = reauthenticated(sso_victor, corp, f"approval:{pending['id']}")

    response = sign(api, sso_victor, pending["id"], step_up=step_up.pk)

    assert response.status_code == 201, response.json()
    signature = Signature.objects.get()
    assert signature.auth_method == "oidc:corp"
    assert signature.idp_authenticated_at == step_up.idp_authenticated_at
    assert signed_fields(signature)["idp_authenticated_at"] == step_up.idp_authenticated_at.astimezone(
        dt.UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert verify_signature(signature)
    signature.idp_authenticated_at -= dt.timedelta(hours=1)
    assert not verify_signature(signature)
    assert AuditEvent.objects.get(action="approval.signed").after["idp_authenticated_at"]


def test_a_re_authentication_signs_once(api, sso_victor, rita, corp, pending):
    step_up = reauthenticated(sso_victor, corp, f"approval:{pending['id']}")
    assert sign(api, sso_victor, pending["id"], step_up=step_up.pk).status_code == 201

    again = sign(api, sso_victor, pending["id"], step_up=step_up.pk)

    assert again.status_code in (401, 403)  # one signature per person: refused either way, nothing signed
    assert Signature.objects.count() == 1


def test_a_re_authentication_for_another_purpose_or_person_or_not_completed_signs_nothing(
    api, sso_victor, maya, corp, pending
):
    other = reauthenticated(sso_victor, corp, "approval:999999")
    begun, _ = federation.step_up_begin(user=sso_victor, provider=corp, purpose=f"approval:{pending['id']}")

    for step_up in (other.pk, begun.pk, 0):
        response = sign(api, sso_victor, pending["id"], step_up=step_up)
        assert response.status_code in (400, 401), response.json()
    assert not Signature.objects.exists()
    assert error(sign(api, sso_victor, pending["id"], step_up=begun.pk))["code"] == "reauthentication_failed"


def test_an_sso_signer_cannot_sign_with_a_password(api, sso_victor, pending):
    response = sign(api, sso_victor, pending["id"], password="anything")

    assert response.status_code == 401
    assert "identity provider" in error(response)["message"]
    assert not Signature.objects.exists()


def test_the_idp_must_re_authenticate_after_the_request_and_the_same_person(sso_victor, corp, settings):
    settings.ATTEST_SSO_CLOCK_SKEW_SECONDS = 30
    purpose = "approval:1"
    earlier_sign_in = timezone.now() - dt.timedelta(minutes=5)

    with pytest.raises(ReauthenticationFailed, match="reused an earlier sign-in"):
        reauthenticated(sso_victor, corp, purpose, at=earlier_sign_in)
    with pytest.raises(ReauthenticationFailed, match="someone else"):
        reauthenticated(sso_victor, corp, purpose, subject="mallory-sub")
    refused = AuditEvent.objects.filter(action="auth.step_up_refused")
    assert refused.count() == 2


def test_the_idp_must_use_the_authentication_context_the_provider_requires(sso_victor, corp):
    IdentityProvider.objects.filter(pk=corp.pk).update(step_up_acr="phr phrh")
    corp.refresh_from_db()

    with pytest.raises(ReauthenticationFailed, match="phr or phrh"):
        reauthenticated(sso_victor, corp, "approval:1", acr="pwd")
    assert reauthenticated(sso_victor, corp, "approval:1", acr="phrh").authn_context == {"acr": "phrh"}


def test_the_step_up_endpoint_refuses_a_local_signer_and_a_bad_purpose(api, victor, sso_victor, corp):
    local = api.as_user(victor)
    sso_victor.set_password("x")
    sso_victor.save()
    refused = local.post(reverse("api:auth-step-up"), {"purpose": "approval:1"}, format="json")
    sso_victor.set_unusable_password()
    sso_victor.save()
    bad = api.as_user(sso_victor).post(reverse("api:auth-step-up"), {"purpose": "anything"}, format="json")

    assert refused.status_code == 401
    assert bad.status_code == 400
    assert list(error(bad)["fields"]) == ["purpose"]
