"""Signing in through an OpenID Provider (a real one, on Node.js): accounts, roles and teams from the
IdP's groups, refusals, break-glass passwords, RP-initiated logout and key rotation."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import FederatedIdentity, User
from accounts.sso import oidc
from audit.models import AuditEvent
from tests.accounts.sso.conftest import idp_login

pytestmark = pytest.mark.django_db

LOGIN = "/sso/oidc/corp/login/"


def roles(user: User) -> set[str]:
    return set(user.groups.exclude(name__startswith="team:").values_list("name", flat=True)) & {
        "validator",
        "ml-engineer",
        "admin",
        "risk-officer",
        "auditor",
    }


def test_first_sign_in_creates_the_account_with_the_mapped_role_and_team(sso_client, corp, credit_risk):
    """GIVEN vera in the IdP's mrm-validators and credit-risk groups
    WHEN she signs in through Corp SSO for the first time
    THEN she lands on the dashboard as a new validator of the credit-risk team, linked to her subject."""
    response = idp_login(sso_client, LOGIN)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user = User.objects.get(username="vera")
    assert (user.email, user.first_name, user.has_usable_password()) == ("vera@corp.example", "Vera", False)
    assert roles(user) == {"validator"}
    assert credit_risk.group.user_set.filter(pk=user.pk).exists()
    identity = FederatedIdentity.objects.get(user=user)
    assert (identity.subject, identity.groups) == ("vera", ["credit-risk", "mrm-validators"])
    assert sso_client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.sso_login", actor_username="vera").exists()
    assert not AuditEvent.objects.filter(action="auth.login", actor_username="vera").exists()  # no password


def test_the_role_follows_the_idp_groups_at_the_next_sign_in(sso_client, corp, idp, credit_risk):
    idp_login(sso_client, LOGIN)
    sso_client.logout()
    sso_client.idp_browser.cookies.clear()
    idp.set_groups("vera", ["mrm-engineers"])

    response = idp_login(sso_client, LOGIN + "?next=/approvals/")

    assert response["Location"] == "/approvals/"
    user = User.objects.get(username="vera")
    assert roles(user) == {"ml-engineer"}
    assert not credit_risk.group.user_set.filter(pk=user.pk).exists()


def test_no_mapped_group_is_refused_on_a_page_and_audited(sso_client, corp):
    response = idp_login(sso_client, LOGIN, account="nina")

    assert response.status_code == 403
    assert b"None of your groups at Corp SSO grants a role" in response.content
    assert not User.objects.filter(username="nina").exists()
    refusal = AuditEvent.objects.get(action="auth.sso_refused")
    assert refusal.after["username"] == "nina"
    assert "_auth_user_id" not in sso_client.session


def test_a_tampered_or_replayed_state_is_refused(sso_client, corp):
    start = sso_client.get(LOGIN)
    query = parse_qs(urlsplit(start["Location"]).query)

    forged = sso_client.get("/sso/oidc/corp/callback/", {"state": query["state"][0] + "x", "code": "abc"})

    assert forged.status_code == 400
    assert b"not started here" in forged.content


def test_an_error_from_the_idp_is_shown_not_a_500(sso_client, corp):
    start = sso_client.get(LOGIN)
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = sso_client.get(
        "/sso/oidc/corp/callback/",
        {"state": state, "error": "access_denied", "error_description": "User said no"},
    )

    assert response.status_code == 400
    assert b"User said no" in response.content


def test_an_id_token_for_another_nonce_is_refused(sso_client, corp):
    """GIVEN the ID token does not carry the nonce this browser's sign-in sent WHEN it comes back THEN
    nobody is signed in and the page says the token is not valid."""

    def other_nonce(client):
        session = client.session
        for pending in session[oidc.PENDING_KEY].values():
            pending["nonce"] = "another-nonce"
        session.save()

    response = idp_login(sso_client, LOGIN, before_callback=other_nonce)

    assert response.status_code == 400
    assert b"ID token is not valid" in response.content
    assert not User.objects.filter(username="vera").exists()


def test_a_discovery_document_of_another_issuer_is_refused(client, corp):
    corp.issuer += "/"  # the document names the issuer without the slash
    corp.save()

    response = client.get(LOGIN)

    assert response.status_code == 400
    assert b"discovery document names another issuer" in response.content


def test_the_login_page_offers_the_provider_and_hides_passwords_under_break_glass(client, corp, settings):
    settings.ATTEST_LOCAL_PASSWORDS = "break-glass"

    page = client.get(reverse("login") + "?next=/approvals/").content.decode()

    assert "Sign in with Corp SSO" in page
    assert 'href="/sso/oidc/corp/login/?next=%2Fapprovals%2F"' in page
    assert "Administrator break-glass sign-in" in page


def test_break_glass_lets_only_the_listed_administrators_use_a_password(
    client, corp, settings, admin_user, maya
):
    settings.ATTEST_LOCAL_PASSWORDS = "break-glass"
    settings.ATTEST_BREAK_GLASS_USERS = [admin_user.username]
    password = "correct-horse-battery"
    for user in (admin_user, maya):
        user.set_password(password)
        user.save()

    refused = client.post(reverse("login"), {"username": "maya", "password": password})
    refused_token = client.post("/api/v1/auth/token/", {"username": "maya", "password": password})
    allowed = client.post(reverse("login"), {"username": admin_user.username, "password": password})

    assert refused.status_code == 200
    assert "_auth_user_id" not in refused.wsgi_request.session
    assert refused_token.status_code in (400, 401, 403)
    assert allowed.status_code == 302


def test_logout_ends_the_idp_session_too(sso_client, corp, idp):
    idp_login(sso_client, LOGIN)
    id_token = sso_client.session["sso_logout"]["id_token"]

    response = sso_client.post(reverse("logout"))

    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}".startswith(idp.issuer)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/"]
    assert "_auth_user_id" not in sso_client.session
    assert AuditEvent.objects.filter(action="auth.logout", actor_username="vera").exists()
    ended = sso_client.idp_browser.get(response["Location"], timeout=10)
    assert ended.status_code == 200  # the IdP accepts the hint: its sign-out page


def test_a_local_user_logs_out_locally(client, maya):
    client.force_login(maya)

    response = client.post(reverse("logout"))

    assert response["Location"] == reverse("login")


def test_a_rotated_signing_key_is_fetched(sso_client, corp, idp):
    """GIVEN Attest holds the IdP's key set WHEN the IdP signs with a new key THEN Attest fetches it again."""
    idp_login(sso_client, LOGIN)
    sso_client.logout()
    sso_client.idp_browser.cookies.clear()
    idp.control("rotate")

    response = idp_login(sso_client, LOGIN)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
