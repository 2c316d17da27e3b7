"""Signing through the OpenID Provider (21 CFR 11.200 by the IdP): the signer re-authenticates there
(prompt=login, max_age=0) and the signature records the IdP method and the IdP's authentication time."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import StepUp, User
from audit.models import AuditEvent
from tests.accounts.sso.conftest import idp_login
from tests.workflow.conftest import quick_ready_version, quick_version, tier1_model  # noqa: F401
from tests.workflow.helpers import request_approval
from workflow.models import PeriodicReview, Signature
from workflow.services.approvals import verify_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(api, maya, quick_ready_version):  # noqa: F811
    response = request_approval(api, maya, quick_ready_version)
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def vera(sso_client, corp):
    """vera, a validator of credit-risk who signs in through Corp SSO (no local password)."""
    idp_login(sso_client, "/sso/oidc/corp/login/")
    return sso_client


def sign_form(meaning: str = "review") -> dict:
    return {"decision": "approve", "meaning": meaning, "comment": "Evidence reviewed."}


def test_an_sso_signer_signs_an_approval_after_re_authenticating_at_the_idp(vera, pending):
    """GIVEN vera signed in through the IdP WHEN she signs on the approval page THEN she is sent to the
    IdP with prompt=login and max_age=0, and on her return the signature records oidc:corp and the time
    the IdP authenticated her, under a valid server signature."""
    detail = vera.get(reverse("approval-detail", args=[pending["id"]])).content.decode()
    assert "Re-authenticate with Corp SSO and sign" in detail
    assert 'name="password"' not in detail

    started = vera.post(reverse("approval-sign", args=[pending["id"]]), sign_form())
    assert started.status_code == 302
    to_idp = vera.get(started["Location"])
    query = parse_qs(urlsplit(to_idp["Location"]).query)
    assert (query["prompt"], query["max_age"], query["code_challenge_method"]) == (["login"], ["0"], ["S256"])

    back = idp_login(vera, started["Location"])
    assert back.status_code == 302
    finished = vera.get(back["Location"])

    assert finished["Location"] == reverse("approval-detail", args=[pending["id"]])
    signature = Signature.objects.get()
    assert signature.auth_method == "oidc:corp"
    assert signature.idp_authenticated_at is not None
    assert verify_signature(signature)
    step_up = StepUp.objects.get()
    assert step_up.consumed_at is not None
    assert step_up.authn_context["acr"] == "urn:attest:test:pwd"
    page = vera.get(finished["Location"]).content.decode()
    assert f"IdP re-authenticated at {signature.idp_authenticated_at:%H:%M:%S} UTC" in page
    again = vera.get(back["Location"])  # the return page reloaded: nothing is signed twice
    assert again.status_code == 400
    assert Signature.objects.count() == 1


def test_an_idp_that_reuses_an_old_sign_in_does_not_sign(vera, idp, pending):
    idp.control("login", {"stale_seconds": 600})  # the IdP answers with an authentication of 10 minutes ago

    started = vera.post(reverse("approval-sign", args=[pending["id"]]), sign_form())
    back = idp_login(vera, started["Location"])

    assert back.status_code == 403
    assert b"reused an earlier sign-in" in back.content
    assert AuditEvent.objects.filter(action="auth.step_up_refused").exists()
    assert not Signature.objects.exists()


def begin_api(api, user, purpose: str) -> dict:
    response = api.as_user(user).post("/api/v1/auth/step-up/", {"purpose": purpose}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def api_sign(api, user, approval_id: int, step_up: int, meaning: str = "review"):
    url = reverse("api:signature-list", args=[approval_id])
    return api.as_user(user).post(url, sign_form(meaning) | {"step_up": step_up}, format="json")


def test_a_step_up_signs_once_for_its_own_purpose_only_when_completed(vera, api, pending):
    user = User.objects.get(username="vera")
    not_completed = begin_api(api, user, f"approval:{pending['id']}")
    other_purpose = begin_api(api, user, "review:999")
    assert idp_login(vera, other_purpose["authorize_url"]).status_code == 200  # "re-authenticated" page
    used = begin_api(api, user, f"approval:{pending['id']}")
    idp_login(vera, used["authorize_url"])
    wrong_meaning = api_sign(api, user, pending["id"], used["step_up"], meaning="responsibility")

    for step_up in (not_completed["step_up"], other_purpose["step_up"], used["step_up"]):
        response = api_sign(api, user, pending["id"], step_up)
        assert response.status_code == 401, (step_up, response.json())

    assert wrong_meaning.status_code == 400
    assert not Signature.objects.exists()


def test_a_step_up_state_not_begun_by_this_user_is_refused(vera):
    response = vera.get("/sso/oidc/corp/step-up/", {"state": "forged-state"})

    assert response.status_code == 400
    assert b"unknown, expired or not yours" in response.content


def test_a_re_authentication_weaker_than_the_required_acr_does_not_sign(vera, corp, pending):
    corp.step_up_acr = "urn:attest:test:mfa"
    corp.save()

    started = vera.post(reverse("approval-sign", args=[pending["id"]]), sign_form())
    back = idp_login(vera, started["Location"])

    assert back.status_code == 403
    assert b"a signature needs urn:attest:test:mfa" in back.content
    assert not Signature.objects.exists()


def test_an_sso_reviewer_signs_a_periodic_review_through_the_idp(vera, tier1_model):  # noqa: F811
    vera.post(reverse("review-open", args=[tier1_model.name]), {"scope": "Annual review"})
    review = PeriodicReview.objects.get()
    assert (
        "Re-authenticate with Corp SSO and sign"
        in vera.get(reverse("review-detail", args=[review.pk])).content.decode()
    )

    started = vera.post(
        reverse("review-complete", args=[review.pk]),
        {"conclusion": "satisfactory", "summary": "Holds.", "valid_until": ""},
    )
    back = idp_login(vera, started["Location"])
    finished = vera.get(back["Location"])

    assert finished["Location"] == reverse("review-detail", args=[review.pk])
    review.refresh_from_db()
    assert (review.status, review.auth_method) == ("completed", "oidc:corp")
    assert review.idp_authenticated_at is not None
    page = vera.get(finished["Location"]).content.decode()
    assert f"IdP re-authenticated at {review.idp_authenticated_at:%H:%M:%S} UTC" in page
