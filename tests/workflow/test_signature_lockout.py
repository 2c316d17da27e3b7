"""Issue 13, finding 5: with a stolen session or token, the signing and TOTP endpoints are no password
oracle. A wrong password, a wrong code and a locked account get one answer (status and body), and wrong
guesses lock the account as wrong sign-in passwords do (accounts.services.lockout)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuthThrottle, TotpDevice
from accounts.models.accounts import ApiToken
from audit.models import AuditEvent
from tests.factories import PASSWORD
from tests.workflow.helpers import error
from tests.workflow.test_signatures import enrol, next_code, pending, wrong_code  # noqa: F401 (fixture)
from workflow.models import Signature

pytestmark = pytest.mark.django_db

ACCOUNT_LIMIT = 5


def answer(response) -> tuple[int, dict]:
    return response.status_code, error(response)


@pytest.fixture
def sign(api):
    """Sign as one signed-in user (signing in again would count as a success and clear the count)."""
    signed_in = {}

    def sign_as(user, approval_id: int, meaning: str, *, password: str = PASSWORD, totp: str | None = None):
        if signed_in.get("user") != user:
            api.as_user(user)
            signed_in["user"] = user
        body = {"decision": "approve", "meaning": meaning, "comment": "Reviewed.", "password": password}
        if totp is not None:
            body["totp"] = totp
        return api.post(reverse("api:signature-list", args=[approval_id]), body, format="json")

    return sign_as


def test_a_locked_signer_gets_the_wrong_password_answer_even_with_the_right_password(sign, victor, pending):  # noqa: F811
    first_wrong = sign(victor, pending["id"], "review", password="guess-0")
    for n in range(1, ACCOUNT_LIMIT):
        sign(victor, pending["id"], "review", password=f"guess-{n}")

    locked = sign(victor, pending["id"], "review")

    assert answer(first_wrong)[0] == 401
    assert answer(locked) == answer(first_wrong)
    assert not Signature.objects.filter(signer=victor).exists()
    lock = AuditEvent.objects.get(action="auth.locked_out")
    assert (lock.after["key"], lock.after["attempt"]) == ("victor", "signature")


def test_an_enrolled_signer_gets_one_answer_for_a_wrong_password_a_wrong_code_and_a_lock(
    api,
    sign,
    victor,
    pending,  # noqa: F811
):
    authenticator = enrol(api, victor)

    wrong_password = sign(victor, pending["id"], "review", password="guess", totp=next_code(authenticator))
    wrong_totp = sign(victor, pending["id"], "review", totp=wrong_code(authenticator))
    missing_totp = sign(victor, pending["id"], "review")
    for _ in range(ACCOUNT_LIMIT - 3):
        sign(victor, pending["id"], "review", password="guess")
    locked = sign(victor, pending["id"], "review", totp=next_code(authenticator))
    AuthThrottle.objects.update(locked_until=None)  # the lock ends: the same code now signs
    signed = sign(victor, pending["id"], "review", totp=next_code(authenticator))

    assert answer(wrong_password)[0] == 401
    assert answer(wrong_password) == answer(wrong_totp) == answer(missing_totp) == answer(locked)
    assert signed.status_code == 201, signed.json()


def test_the_ui_signing_form_shows_a_lock_as_a_wrong_password(client, victor, pending, password):  # noqa: F811
    client.force_login(victor)
    url = f"/approvals/{pending['id']}/sign/"
    body = {"decision": "approve", "meaning": "review", "comment": "Reviewed.", "password": "guess"}
    wrong = client.post(url, body)
    for _ in range(ACCOUNT_LIMIT - 1):
        client.post(url, body)

    locked = client.post(url, body | {"password": password})

    assert wrong.status_code == locked.status_code == 401
    assert "The password is not correct; nothing was signed." in locked.content.decode()
    assert not Signature.objects.filter(signer=victor).exists()


def test_removing_the_authenticator_with_a_stolen_token_is_throttled_with_one_answer(api, victor):
    enrol(api, victor)
    _, secret = ApiToken.objects.create(user=victor)
    thief = api.with_token(secret)
    url = reverse("api:auth-totp")

    wrong = thief.delete(url, {"password": "guess-0"}, format="json")
    for n in range(1, ACCOUNT_LIMIT):
        thief.delete(url, {"password": f"guess-{n}"}, format="json")
    locked = thief.delete(url, {"password": "correct horse battery"}, format="json")
    locked_right = thief.delete(url, {"password": PASSWORD}, format="json")

    assert answer(wrong)[0] == 401
    assert answer(wrong) == answer(locked) == answer(locked_right)
    assert TotpDevice.objects.filter(user=victor, confirmed=True).exists()
    assert AuditEvent.objects.filter(action="auth.reauthentication_failed").count() == ACCOUNT_LIMIT


def test_wrong_enrolment_codes_lock_too(api, victor):
    api.as_user(victor).post(reverse("api:auth-totp"), {}, format="json")
    url = reverse("api:auth-totp")

    answers = [api.post(url, {"code": "000000"}, format="json") for _ in range(ACCOUNT_LIMIT + 1)]

    assert {response.status_code for response in answers} == {400}
    assert answers[0].json() == answers[-1].json()
    assert AuditEvent.objects.get(action="auth.locked_out").after["attempt"] == "totp_enrolment"
