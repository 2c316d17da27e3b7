"""Signing through the SAML IdP: a step-up is a fresh authentication the IdP is made to ask for
(``ForceAuthn``), and the signature records the method and the IdP's AuthnInstant."""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from accounts.errors import ReauthenticationFailed
from accounts.models import StepUp, User
from accounts.services import federation
from audit.models import AuditEvent
from tests.accounts.sso.saml_fixtures import Browser
from tests.accounts.sso.saml_idp import PASSWORD_CLASS
from tests.workflow.conftest import quick_ready_version, quick_version, tier1_model  # noqa: F401
from tests.workflow.helpers import request_approval
from workflow.models import Signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def approval(api, maya, quick_ready_version):  # noqa: F811
    response = request_approval(api, maya, quick_ready_version)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.fixture
def vera(browser):
    """Vera, a validator of credit risk who signs in through the IdP (no password in Attest)."""
    assert browser.sign_in().status_code == 302
    return User.objects.get(username="vera")


UNSIGNED = 987654  # a purpose naming no approval: the refusals happen before any approval is read


def begin_step_up(browser: Browser, approval_id: int, *, next_url: str = "/approvals/") -> tuple[int, str]:
    """POST /api/v1/auth/step-up/ as the signing page would, and remember where to come back to."""
    started = browser.client.post(
        reverse("api:auth-step-up"), {"purpose": f"approval:{approval_id}"}, content_type="application/json"
    )
    assert started.status_code == 201, started.json()
    step_up = started.json()["step_up"]
    session = browser.client.session
    session[f"step_up_next:{step_up}"] = next_url
    session.save()
    url = urlsplit(started.json()["authorize_url"])
    return step_up, f"{url.path}?{url.query}"


def sign(browser: Browser, approval_id: int, step_up: int):
    body = {"decision": "approve", "meaning": "review", "comment": "Reviewed.", "step_up": step_up}
    return browser.client.post(
        reverse("api:signature-list", args=[approval_id]), body, content_type="application/json"
    )


def test_an_approval_signed_through_force_authn_records_the_idp_and_its_authn_instant(
    browser, saml_idp, corp, vera, approval
):
    """GIVEN vera signed in through the IdP (her IdP session open) WHEN she signs an approval THEN the IdP
    is asked for ForceAuthn with the required context and asks her password again; back at Attest the
    step-up is completed with the AuthnInstant, she returns where signing began, and the signature
    records saml:corp and that instant."""
    corp.step_up_acr = PASSWORD_CLASS
    corp.save()
    step_up_id, start = begin_step_up(browser, approval, next_url=f"/approvals/{approval}/")

    fields = browser.through_idp(start)
    back = browser.post_acs(fields)

    assert back.status_code == 302, html.unescape(back.content.decode())
    assert back["Location"] == f"/approvals/{approval}/"
    seen = saml_idp.seen[-1]
    assert seen.force_authn
    assert seen.asked_credentials
    assert seen.requested_class_refs == [PASSWORD_CLASS]
    step_up = StepUp.objects.get(pk=step_up_id)
    assert step_up.completed_at is not None
    assert step_up.authn_context == {"acr": PASSWORD_CLASS}
    assert step_up.idp_authenticated_at >= step_up.created_at.replace(microsecond=0)
    signed = sign(browser, approval, step_up_id)
    assert signed.status_code == 201, signed.json()
    signature = Signature.objects.get(signer=vera)
    assert signature.auth_method == "saml:corp"
    assert signature.idp_authenticated_at == step_up.idp_authenticated_at
    assert AuditEvent.objects.filter(action="auth.step_up_completed", actor_username="vera").exists()


def test_an_idp_that_ignores_force_authn_does_not_sign(browser, saml_idp, vera):
    """GIVEN an IdP that answers a ForceAuthn request from its old session (AuthnInstant ten minutes ago)
    WHEN vera's step-up comes back THEN 403 saying the IdP reused an earlier sign-in; the step-up stays
    open and signing with it is refused (401), nothing signed."""
    saml_idp.behaviour.honour_force_authn = False
    saml_idp.backdate_sessions(600)
    step_up_id, start = begin_step_up(browser, UNSIGNED)

    back = browser.post_acs(browser.through_idp(start))

    assert back.status_code == 403
    assert "reused an earlier sign-in" in html.unescape(back.content.decode())
    assert saml_idp.seen[-1].force_authn
    assert not saml_idp.seen[-1].asked_credentials
    assert StepUp.objects.get(pk=step_up_id).completed_at is None
    with pytest.raises(ReauthenticationFailed):
        federation.step_up_consume(user=vera, step_up_id=step_up_id, purpose=f"approval:{UNSIGNED}")
    assert AuditEvent.objects.filter(action="auth.step_up_refused", actor_username="vera").exists()


def test_a_step_up_with_the_wrong_authentication_context_does_not_sign(browser, saml_idp, corp, vera):
    """GIVEN a provider that requires multi-factor for signatures WHEN the IdP re-authenticates vera with a
    password only THEN 403 naming the context required; the step-up stays open."""
    corp.step_up_acr = "https://refeds.org/profile/mfa"
    corp.save()
    step_up_id, start = begin_step_up(browser, UNSIGNED)

    back = browser.post_acs(browser.through_idp(start))

    assert back.status_code == 403
    assert "https://refeds.org/profile/mfa" in html.unescape(back.content.decode())
    assert StepUp.objects.get(pk=step_up_id).completed_at is None


def test_a_step_up_of_someone_else_cannot_be_started(browser, saml_idp, vera, client):
    """GIVEN vera's step-up state WHEN another signed-in session opens the step-up URL with it THEN 403."""
    _, start = begin_step_up(browser, UNSIGNED)
    client.force_login(User.objects.create_user("mallory"))

    assert client.get(start).status_code == 403
