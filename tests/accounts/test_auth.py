"""Sign-in, sign-out and bearer tokens, each audited."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def obtain(api, username, password, **extra):
    return api.post(
        reverse("api:auth-token"), {"username": username, "password": password, **extra}, format="json"
    )


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def test_it_signs_in_on_the_login_page_and_audits_it(client, maya, password):
    response = client.post(reverse("login"), {"username": "maya", "password": password})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor_username == "maya"
    assert event.auth_method == "session"
    assert event.actor_roles == ["ml-engineer"]


def test_it_refuses_a_wrong_password_and_audits_the_attempt(client, maya):
    response = client.post(reverse("login"), {"username": "maya", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.after == {"username": "maya"}
    assert event.actor_id is None


def test_it_signs_out_and_audits_it(client, maya, password):
    client.post(reverse("login"), {"username": "maya", "password": password})
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert actions()[-1] == "auth.logout"
    assert client.get(reverse("dashboard")).status_code == 302  # back to the login page


def test_it_issues_a_prefixed_token_that_authenticates(api, maya, password):
    response = obtain(api, "maya", password, name="ci")
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("attest_")
    listing = api.with_token(token).get(reverse("api:team-list"))
    assert listing.status_code == 200
    assert "token.created" in actions()


def test_it_stores_only_a_hash_of_the_token(api, maya, password):
    token = obtain(api, "maya", password).json()["token"]
    stored = ApiToken.objects.get(user=maya)
    assert token not in stored.digest
    assert stored.token_key == token[:15]


def test_it_answers_401_with_the_error_body_for_a_wrong_password(api, maya):
    response = obtain(api, "maya", "nope")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Bearer"
    assert "auth.login_failed" in actions()


def test_it_refuses_an_expired_token(api, maya, password):
    token = obtain(api, "maya", password).json()["token"]
    ApiToken.objects.filter(user=maya).update(expiry=timezone.now() - timedelta(seconds=1))
    response = api.with_token(token).get(reverse("api:team-list"))
    assert response.status_code == 401


def test_it_revokes_the_current_token_on_logout(api, maya, password):
    token = obtain(api, "maya", password).json()["token"]
    other = obtain(api, "maya", password).json()["token"]
    assert api.with_token(token).post(reverse("api:auth-logout")).status_code == 204
    assert api.with_token(token).get(reverse("api:team-list")).status_code == 401
    assert api.with_token(other).get(reverse("api:team-list")).status_code == 200
    assert "token.revoked" in actions()


def test_it_revokes_every_token_on_logout_all(api, maya, password):
    tokens = [obtain(api, "maya", password).json()["token"] for _ in range(3)]
    response = api.with_token(tokens[0]).post(reverse("api:auth-logout-all"))
    assert response.json() == {"revoked": 3}
    for token in tokens:
        assert api.with_token(token).get(reverse("api:team-list")).status_code == 401
    assert actions().count("token.revoked") == 3


def test_it_lists_creates_and_revokes_my_tokens_but_not_others(api, maya, olga, password):
    obtain(api, "olga", password, name="olga-ci")
    client = api.as_user(maya)
    created = client.post(reverse("api:token-list"), {"name": "nightly", "expires_in_days": 7}, format="json")
    assert created.status_code == 201
    key = created.json()["token_key"]
    listing = client.get(reverse("api:token-list")).json()["results"]
    assert [item["name"] for item in listing] == ["nightly"]
    olga_key = ApiToken.objects.get(user=olga).token_key
    assert client.delete(reverse("api:token-detail", args=[olga_key])).status_code == 404
    assert client.delete(reverse("api:token-detail", args=[key])).status_code == 204
    assert client.get(reverse("api:token-list")).json()["results"] == []


def test_it_refuses_an_out_of_range_expiry_naming_the_field(api, maya):
    response = api.as_user(maya).post(reverse("api:token-list"), {"expires_in_days": 5000}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["expires_in_days"]


def test_it_manages_tokens_on_the_tokens_page(client, maya):
    client.force_login(maya)
    response = client.post(reverse("token-list"), {"name": "laptop", "expires_in_days": 30})
    assert response.status_code == 200
    assert b"attest_" in response.content
    key = ApiToken.objects.get(user=maya).token_key
    confirm = client.get(reverse("token-revoke", args=[key]))
    assert b"cannot be undone" in confirm.content
    client.post(reverse("token-revoke", args=[key]))
    assert not ApiToken.objects.filter(user=maya).exists()
