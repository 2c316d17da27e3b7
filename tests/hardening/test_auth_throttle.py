"""Issue 13, finding 5: password guessing is throttled on the real client address, in a count every
process shares (PostgreSQL), on the API token endpoint, /login/ and /admin/login/, with a progressive
lockout that is audited. (The signing and TOTP endpoints: tests/workflow/test_signature_lockout.py.)

The limits are the defaults: 5 wrong passwords lock an account, 20 lock a client address, for 60 s, then
120 s, …; time passes by moving the stored timestamps back, never by sleeping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from accounts.context import client_address
from accounts.models import AuthThrottle
from accounts.services import lockout
from audit.models import AuditEvent
from tests.conftest import ROOT, database_url_for_tests
from tests.factories import PASSWORD

TOKEN = reverse("api:auth-token")
ACCOUNT_LIMIT = 5
CLIENT_LIMIT = 20


def token_attempt(client, username: str, password: str = "wrong-password", **headers):
    return client.post(TOKEN, {"username": username, "password": password}, format="json", headers=headers)


def events(action: str):
    return AuditEvent.objects.filter(action=action).order_by("seq")


def time_passes(seconds: int) -> None:
    """Every stored failure and lock happened ``seconds`` earlier."""
    delta = timedelta(seconds=seconds)
    for row in AuthThrottle.objects.all():
        row.first_failure_at -= delta
        row.last_failure_at -= delta
        if row.locked_until is not None:
            row.locked_until -= delta
        row.save()


# --- the client address --------------------------------------------------------------------------------


def forwarded_request(remote: str, forwarded: str):
    return RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)


def test_the_client_is_remote_addr_and_a_forwarded_header_is_ignored_by_default():
    assert client_address(forwarded_request("192.0.2.10", "198.51.100.7")) == "192.0.2.10"


@override_settings(ATTEST_TRUSTED_PROXY_COUNT=1)
def test_behind_one_trusted_proxy_the_client_is_the_address_that_proxy_appended():
    spoofed = forwarded_request("10.0.0.2", "203.0.113.66, 198.51.100.7")
    assert client_address(spoofed) == "198.51.100.7"  # the client's own entry on the left is not read


@override_settings(ATTEST_TRUSTED_PROXY_COUNT=2)
def test_a_forwarded_header_shorter_than_the_proxy_chain_or_not_an_address_falls_back_to_remote_addr():
    assert client_address(forwarded_request("10.0.0.2", "198.51.100.7")) == "10.0.0.2"
    assert client_address(forwarded_request("10.0.0.2", "not-an-ip, 10.0.0.1")) == "10.0.0.2"


# --- the API token endpoint -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_reset_the_account_count(api, maya):
    statuses = [
        token_attempt(api, "maya", **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(ACCOUNT_LIMIT)
    ]
    locked = token_attempt(api, "maya", PASSWORD, **{"X-Forwarded-For": "203.0.113.99"})

    assert statuses == [401] * ACCOUNT_LIMIT
    assert locked.status_code == 429  # even the right password: it is not checked while locked
    assert locked.json()["error"]["code"] == "throttled"
    assert 0 < int(locked["Retry-After"]) <= 60
    assert not maya.auth_token_set.exists()


@pytest.mark.django_db
def test_one_address_guessing_many_accounts_is_locked_whatever_it_forwards(api, maya):
    for n in range(CLIENT_LIMIT):
        assert token_attempt(api, f"user{n}", **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code == 401

    response = token_attempt(api, "maya", PASSWORD, **{"X-Forwarded-For": "198.51.100.1"})

    assert response.status_code == 429
    (locked,) = [event for event in events("auth.locked_out") if event.after["scope"] == "client"]
    assert locked.after["key"] == "127.0.0.1"
    assert locked.after["attempt"] == "sign_in"


@pytest.mark.django_db
def test_another_address_still_signs_in_while_one_address_is_locked(api, maya):
    for n in range(CLIENT_LIMIT):
        token_attempt(api, f"user{n}")

    body = {"username": "maya", "password": PASSWORD}
    other = api.post(TOKEN, body, format="json", REMOTE_ADDR="192.0.2.50")

    assert other.status_code == 201


@pytest.mark.django_db
def test_the_lockout_is_audited_once_with_the_failed_attempts(api, maya):
    for _ in range(ACCOUNT_LIMIT + 2):
        token_attempt(api, "maya")

    locked = events("auth.locked_out").get()
    assert locked.after["scope"] == "account"
    assert locked.after["key"] == "maya"
    assert locked.after["lockout"] == 1
    failed = list(events("auth.login_failed"))
    assert len(failed) == ACCOUNT_LIMIT + 2
    assert [event.after.get("locked") for event in failed[-2:]] == ["account", "account"]


@pytest.mark.django_db
def test_the_lock_ends_after_its_time_and_the_next_one_is_twice_as_long(api, maya):
    for _ in range(ACCOUNT_LIMIT):
        token_attempt(api, "maya")
    first = AuthThrottle.objects.get(key="account:maya")
    assert first.locked_until - first.last_failure_at == timedelta(seconds=60)

    time_passes(61)
    for _ in range(ACCOUNT_LIMIT):
        assert token_attempt(api, "maya").status_code == 401
    second = AuthThrottle.objects.get(key="account:maya")

    assert second.locked_until - second.last_failure_at == timedelta(seconds=120)
    assert token_attempt(api, "maya", PASSWORD).status_code == 429
    time_passes(121)
    assert token_attempt(api, "maya", PASSWORD).status_code == 201
    assert not AuthThrottle.objects.filter(key="account:maya").exists()  # a success forgets the account


@pytest.mark.django_db
def test_failures_outside_the_window_do_not_add_up(api, maya):
    for _ in range(ACCOUNT_LIMIT - 1):
        token_attempt(api, "maya")
    time_passes(15 * 60 + 1)
    for _ in range(ACCOUNT_LIMIT - 1):
        token_attempt(api, "maya")

    assert token_attempt(api, "maya", PASSWORD).status_code == 201


@pytest.mark.django_db
def test_a_success_clears_the_account_count_but_not_the_address_count(api, maya):
    for _ in range(ACCOUNT_LIMIT - 1):
        token_attempt(api, "maya")
    assert token_attempt(api, "maya", PASSWORD).status_code == 201

    for _ in range(ACCOUNT_LIMIT - 1):
        assert token_attempt(api, "maya").status_code == 401
    assert AuthThrottle.objects.get(key="client:127.0.0.1").failures == 2 * (ACCOUNT_LIMIT - 1)


@pytest.mark.django_db
def test_a_quiet_day_forgets_earlier_lockouts_and_stale_counts_are_purged(api, maya):
    for _ in range(ACCOUNT_LIMIT):
        token_attempt(api, "maya")
    time_passes(24 * 3600 + 61)
    for _ in range(ACCOUNT_LIMIT):
        token_attempt(api, "maya")
    row = AuthThrottle.objects.get(key="account:maya")
    assert row.locked_until - row.last_failure_at == timedelta(seconds=60)

    time_passes(24 * 3600 + 61)
    assert lockout.stale_purge() == 2
    assert not AuthThrottle.objects.exists()


# --- the count is shared by every process ---------------------------------------------------------------

OTHER_PROCESS = textwrap.dedent(
    """
    import django, os, sys
    django.setup()
    from django.test import Client
    client = Client()
    for _ in range(int(sys.argv[1])):
        response = client.post("/api/v1/auth/token/", {"username": "maya", "password": "wrong"},
                               content_type="application/json")
        print(response.status_code)
    """
)


def wrong_passwords_from_another_process(count: int) -> list[int]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [int(line) for line in done.stdout.split()]


def test_failures_in_another_process_count_towards_the_same_lock(transactional_db, maya):
    """Three wrong passwords in another Python process (as another gunicorn worker would see them) and
    two here lock the account here: the count is in PostgreSQL, not in a process's memory."""
    assert wrong_passwords_from_another_process(ACCOUNT_LIMIT - 2) == [401] * (ACCOUNT_LIMIT - 2)
    client = Client()

    here = [token_attempt(client, "maya").status_code for _ in range(2)]
    refused = token_attempt(client, "maya", PASSWORD)

    assert here == [401, 401]
    assert refused.status_code == 429
    assert wrong_passwords_from_another_process(1) == [429]  # and the lock holds over there too


# --- /login/ and /admin/login/ -----------------------------------------------------------------------------


def login_attempt(client, url: str, username: str, password: str = "wrong-password", **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_the_sign_in_pages_lock_the_account_after_repeated_failures(client, admin_user, url):
    for n in range(ACCOUNT_LIMIT):
        response = login_attempt(client, url, "admin", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert response.status_code == 200  # the form again, with the wrong-password message

    locked = login_attempt(client, url, "admin", PASSWORD)

    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert events("auth.locked_out").get().after["attempt"] == "sign_in"


@pytest.mark.django_db
def test_the_sign_in_page_answers_a_lock_with_429_and_signs_in_once_it_ends(client, maya):
    for _ in range(ACCOUNT_LIMIT):
        login_attempt(client, "/login/", "maya")

    locked = login_attempt(client, "/login/", "maya", PASSWORD)
    time_passes(61)
    signed_in = login_attempt(client, "/login/", "maya", PASSWORD)

    assert (locked.status_code, 0 < int(locked["Retry-After"]) <= 60) == (429, True)
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(maya.pk)


@pytest.mark.django_db
def test_the_api_and_the_sign_in_page_share_one_count(client, api, maya):
    for _ in range(ACCOUNT_LIMIT - 1):
        login_attempt(client, "/login/", "maya")
    token_attempt(api, "maya")

    assert token_attempt(api, "maya", PASSWORD).status_code == 429
