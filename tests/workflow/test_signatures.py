"""Electronic signatures: who may sign which stage, re-authentication, and what a signature records."""

import datetime as dt
import json

import pyotp
import pytest
import rfc8785
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import RegisteredModel
from tests.factories import PASSWORD, UserFactory, role_group
from tests.workflow.helpers import error, events, policy_version, request_approval, sign
from workflow.models import ApprovalRequest, Signature
from workflow.services.approvals import signed_fields, verify_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(api, maya, quick_ready_version):
    """A pending production request made by maya (who also submitted the version and owns the model)."""
    response = request_approval(api, maya, quick_ready_version)
    assert response.status_code == 201, response.json()
    return response.json()


def engineer_who_validates(username, team):
    user = UserFactory(username=username, role="ml-engineer", teams=[team])
    user.groups.add(role_group("validator"))
    return user


def assert_refused(response, code: str, signer) -> dict:
    """403 with ``code``, no signature stored, and the attempt audited in a transaction of its own."""
    assert response.status_code == 403, response.json()
    assert error(response)["code"] == code
    assert not Signature.objects.filter(signer=signer).exists()
    refusal = AuditEvent.objects.filter(action="approval.signature_refused").latest("seq")
    assert refusal.actor_username == signer.username
    assert refusal.after["code"] == code
    return error(response)


def sod_case(party, *, api, maya, credit_risk, version):
    """Who signs and who requests so that exactly ``party`` is the segregated one."""
    model = version.model
    if party == "requester":
        signer = requester = engineer_who_validates("mike", credit_risk)
    elif party == "submitter":
        requester = UserFactory(username="mike", role="ml-engineer", teams=[credit_risk])
        RegisteredModel.objects.filter(pk=model.pk).update(owner=requester)
        signer = maya
        maya.groups.add(role_group("validator"))
    else:
        requester = maya
        signer = UserFactory(username="otto", role="validator", teams=[credit_risk])
        RegisteredModel.objects.filter(pk=model.pk).update(owner=signer)
    response = request_approval(api, requester, version)
    assert response.status_code == 201, response.json()
    return signer, response.json()["id"]


@pytest.mark.parametrize("party", ["requester", "submitter", "owner"])
def test_it_refuses_each_segregated_party(api, party, maya, victor, credit_risk, quick_ready_version):
    """GIVEN a validator who is the request's requester, the version's submitter or the model's owner
    WHEN they sign the validation stage
    THEN 403 segregation_of_duties naming the party, nothing is signed, the attempt is audited,
    and an independent validator can still sign."""
    signer, approval_id = sod_case(
        party, api=api, maya=maya, credit_risk=credit_risk, version=quick_ready_version
    )

    refused = assert_refused(sign(api, signer, approval_id, "review"), "segregation_of_duties", signer)

    assert refused["details"] == {"party": party}
    assert sign(api, victor, approval_id, "review").status_code == 201


def test_it_refuses_a_signer_without_the_stage_role(api, aaron, pending):
    """GIVEN a pending request at the validation stage
    WHEN the auditor signs
    THEN 403 wrong_role, audited."""
    assert_refused(sign(api, aaron, pending["id"], "review"), "wrong_role", aaron)


def test_it_refuses_a_later_stage_before_the_open_one(api, rita, victor, pending):
    """GIVEN a pending request at the validation stage
    WHEN the risk officer signs before the validator
    THEN 403 stage_order, audited; after the validator, the risk officer's signature is accepted."""
    assert_refused(sign(api, rita, pending["id"], "approval"), "stage_order", rita)

    assert sign(api, victor, pending["id"], "review").status_code == 201
    assert sign(api, rita, pending["id"], "approval").status_code == 201


def test_it_counts_one_signature_per_person_within_a_stage(
    api, victor, credit_risk, maya, quick_ready_version
):
    """GIVEN a policy whose validation stage needs two validators
    WHEN victor signs twice
    THEN the second attempt is 403 already_signed and the stage stays open until a second person signs."""
    policy_version(
        stages=[
            {
                "key": "validation",
                "title": "Validation",
                "role": "validator",
                "quorum": 2,
                "meaning": "review",
            }
        ],
        gated_environments={"production": ["validation"]},
    )
    approval_id = request_approval(api, maya, quick_ready_version).json()["id"]
    assert sign(api, victor, approval_id, "review").status_code == 201

    again = sign(api, victor, approval_id, "review")

    assert again.status_code == 403
    assert error(again)["code"] == "already_signed"
    assert Signature.objects.filter(signer=victor).count() == 1
    assert ApprovalRequest.objects.get().status == "pending"
    vera = UserFactory(username="vera", role="validator", teams=[credit_risk])
    assert sign(api, vera, approval_id, "review").status_code == 201
    assert ApprovalRequest.objects.get().status == "approved"


def test_it_counts_one_signature_per_person_across_stages(api, credit_risk, pending):
    """GIVEN a person who is both validator and risk officer
    WHEN they sign the validation stage and then the risk stage
    THEN the second signature is 403 already_signed: stages need distinct people."""
    both = UserFactory(username="bea", role="validator", teams=[credit_risk])
    both.groups.add(role_group("risk-officer"))
    assert sign(api, both, pending["id"], "review").status_code == 201

    again = sign(api, both, pending["id"], "approval")

    assert again.status_code == 403
    assert error(again)["code"] == "already_signed"
    assert Signature.objects.filter(signer=both).count() == 1


def test_it_lists_the_requests_awaiting_a_signer(api, victor, rita, maya, pending):
    """GIVEN a pending request at the validation stage
    WHEN victor, rita and maya ask for the requests awaiting them
    THEN only victor's list has it; once he signed, only rita's has it."""

    def awaiting(user):
        rows = api.as_user(user).get(reverse("api:approval-list"), {"awaiting": "me"}).json()["results"]
        return [row["id"] for row in rows]

    assert (awaiting(victor), awaiting(rita), awaiting(maya)) == ([pending["id"]], [], [])
    sign(api, victor, pending["id"], "review")
    assert (awaiting(victor), awaiting(rita)) == ([], [pending["id"]])


def test_it_refuses_a_wrong_password_with_401_and_signs_nothing(api, victor, pending):
    """GIVEN a pending request
    WHEN victor signs with a wrong password
    THEN 401 reauthentication_failed naming the password field, no signature, the attempt audited."""
    response = sign(api, victor, pending["id"], "review", password="not-my-password")

    assert response.status_code == 401
    assert error(response)["code"] == "reauthentication_failed"
    assert list(error(response)["fields"]) == ["password"]
    assert not Signature.objects.exists()
    (refusal,) = events("approval.signature_refused")
    assert refusal.actor_username == "victor"
    assert refusal.after["code"] == "reauthentication_failed"
    assert refusal.object_type == "governance.approvalrequest"
    assert refusal.object_id == str(pending["id"])


def test_it_ends_the_request_on_a_rejection(api, victor, rita, pending):
    """GIVEN a pending request
    WHEN victor rejects it without a comment, then with one
    THEN the first is 400 naming the comment; the second rejects the request and nobody can sign after."""
    bare = sign(api, victor, pending["id"], "review", decision="reject", comment="")
    assert bare.status_code == 400
    assert list(error(bare)["fields"]) == ["comment"]

    rejected = sign(api, victor, pending["id"], "review", decision="reject", comment="AUC unstable.")

    assert rejected.status_code == 201
    request = ApprovalRequest.objects.get()
    assert (request.status, request.outcome_reason) == ("rejected", "AUC unstable.")
    late = sign(api, rita, pending["id"], "approval")
    assert late.status_code == 409
    assert error(late)["code"] == "request_closed"
    assert len(events("approval.rejected")) == 1


def test_it_refuses_a_meaning_other_than_the_stage_s(api, victor, pending):
    """GIVEN the validation stage, whose signatures mean 'review'
    WHEN victor signs with the meaning 'responsibility'
    THEN 400 naming the meaning."""
    response = sign(api, victor, pending["id"], "responsibility")

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["meaning"]
    assert not Signature.objects.exists()


def test_it_records_and_server_signs_what_part_11_asks(api, victor, pending):
    """GIVEN a pending request
    WHEN victor signs
    THEN the signature holds his printed name, roles, decision, meaning, comment, UTC time, method,
    the request's digest and policy version, a valid server signature, and its audit event links to it."""
    response = sign(api, victor, pending["id"], "review", comment="Conceptually sound.")

    body = response.json()
    signature = Signature.objects.get()
    assert body["printed_name"] == "Victor Tester"
    assert body["roles"] == ["validator"]
    assert (body["decision"], body["meaning"], body["comment"]) == (
        "approve",
        "review",
        "Conceptually sound.",
    )
    assert body["meaning_statement"].startswith("Review: ")
    assert body["signed_at"].endswith("Z")
    assert body["auth_method"] == "password"
    assert body["evidence_digest"] == pending["evidence_digest"]
    assert (body["policy_tier"], body["policy_version"]) == (1, 1)
    assert signature.signed_at.utcoffset() == dt.timedelta(0)
    assert verify_signature(signature)
    assert bytes(signature.payload) == rfc8785.dumps(signed_fields(signature))
    signature.comment = "Edited afterwards."
    assert not verify_signature(signature)
    (event,) = events("approval.signed")
    assert (event.object_type, event.object_id) == ("governance.signature", str(signature.pk))
    assert event.after["server_signature"] == signature.server_signature


def test_it_exposes_the_signed_payload_for_independent_verification(api, victor, pending):
    """GIVEN victor's signature
    WHEN a verifier reads it from the API and holds the server's public key
    THEN the Ed25519 signature verifies over the returned payload, which names the signer, the meaning
    and the evidence digest; a changed payload does not verify."""
    from cryptography.exceptions import InvalidSignature

    from audit import keys

    sign(api, victor, pending["id"], "review")
    (body,) = api.as_user(victor).get(reverse("api:signature-list", args=[pending["id"]])).json()
    public_key = keys.public_keys()[body["key_id"]]
    signature = bytes.fromhex(body["server_signature"])

    public_key.verify(signature, body["signed_payload"].encode())

    signed = json.loads(body["signed_payload"])
    assert (signed["printed_name"], signed["meaning"], signed["decision"]) == (
        "Victor Tester",
        "review",
        "approve",
    )
    assert signed["evidence_digest"] == pending["evidence_digest"]
    assert signed["signed_at"] == body["signed_at"]
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, body["signed_payload"].replace("approve", "reject").encode())


def test_it_refuses_self_approval_and_double_signing_in_the_database(api, victor, maya, pending):
    """GIVEN a stored signature by victor
    WHEN rows are inserted behind the service's back: victor again, and the requester herself
    THEN the database refuses both."""
    sign(api, victor, pending["id"], "review")
    stored = Signature.objects.get()
    fields = {
        field.name: getattr(stored, field.name)
        for field in Signature._meta.concrete_fields
        if field.name not in ("id", "signer")
    }

    for signer in (victor, maya):
        with pytest.raises(IntegrityError), transaction.atomic():
            Signature.objects.create(**fields, signer=signer)


# --- TOTP ------------------------------------------------------------------------------------------


def enrol(api, user) -> pyotp.TOTP:
    started = api.as_user(user).post(reverse("api:auth-totp"), {}, format="json")
    assert started.status_code == 201, started.json()
    assert started.json()["uri"].startswith("otpauth://totp/Attest:")
    authenticator = pyotp.TOTP(started.json()["secret"])
    confirmed = api.post(reverse("api:auth-totp"), {"code": authenticator.now()}, format="json")
    assert confirmed.json() == {"enrolled": True}
    return authenticator


def next_code(authenticator: pyotp.TOTP) -> str:
    """The next time step's code: the current one was spent confirming the enrolment."""
    return authenticator.at(dt.datetime.now() + dt.timedelta(seconds=30))


def wrong_code(authenticator: pyotp.TOTP) -> str:
    """A code outside the accepted window (previous, current and next step)."""
    now = dt.datetime.now()
    valid = {authenticator.at(now + dt.timedelta(seconds=30 * step)) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def test_it_requires_the_code_of_an_enrolled_signer_and_refuses_a_replay(
    api, maya, victor, pending, quick_ready_version
):
    """GIVEN victor enrolled a TOTP authenticator
    WHEN he signs without a code, then with a wrong one, then with a valid one, then replays that code
    THEN 401, 401, a signature made with password+totp, and 401 for the replay."""
    authenticator = enrol(api, victor)
    staging = request_approval(api, maya, quick_ready_version, "staging").json()["id"]

    missing = sign(api, victor, pending["id"], "review")
    wrong = sign(api, victor, pending["id"], "review", totp=wrong_code(authenticator))
    code = next_code(authenticator)
    signed = sign(api, victor, pending["id"], "review", totp=code)
    replayed = sign(api, victor, staging, "review", totp=code)

    assert (missing.status_code, wrong.status_code, signed.status_code) == (401, 401, 201)
    assert error(missing) == error(wrong)  # one answer, whichever part was wrong
    assert list(error(missing)["fields"]) == ["password", "totp"]
    assert signed.json()["auth_method"] == "password+totp"
    assert replayed.status_code == 401
    assert error(replayed)["code"] == "reauthentication_failed"
    assert Signature.objects.filter(signer=victor).count() == 1
    assert len(events("approval.signature_refused")) == 3


def test_it_spends_a_code_even_when_the_signature_is_then_refused(api, victor, rita, pending):
    """GIVEN rita enrolled TOTP and the validation stage is done
    WHEN she signs with a valid code but the wrong meaning (refused after re-authentication), and again
    with the same code and the right meaning
    THEN 400, then 401: a code that was accepted once is never accepted again (RFC 6238 section 5.2)."""
    authenticator = enrol(api, rita)
    sign(api, victor, pending["id"], "review")
    code = next_code(authenticator)

    refused = sign(api, rita, pending["id"], "review", totp=code)
    replayed = sign(api, rita, pending["id"], "approval", totp=code)

    assert (refused.status_code, list(error(refused)["fields"])) == (400, ["meaning"])
    assert (replayed.status_code, error(replayed)["code"]) == (401, "reauthentication_failed")
    assert not Signature.objects.filter(signer=rita).exists()


def test_it_refuses_a_signer_out_of_turn_whatever_the_password(api, rita, pending):
    """GIVEN rita, whose stage is not open yet
    WHEN she signs with a wrong password and with her password
    THEN the same 403 stage_order both times: the refusal does not tell a holder of her session which
    password was right."""
    wrong = sign(api, rita, pending["id"], "approval", password="not-her-password")
    right = sign(api, rita, pending["id"], "approval")

    assert (wrong.status_code, error(wrong)["code"]) == (403, "stage_order")
    assert error(wrong) == error(right)


def test_it_lets_an_enrolled_user_remove_the_authenticator_with_the_password(api, victor, pending):
    """GIVEN victor enrolled TOTP
    WHEN he removes it with a wrong password, then with his password
    THEN 401 first; afterwards a signature needs the password only."""
    enrol(api, victor)
    url = reverse("api:auth-totp")

    assert api.as_user(victor).delete(url, {"password": "nope"}, format="json").status_code == 401
    assert api.delete(url, {"password": PASSWORD}, format="json").status_code == 204
    assert api.get(url).json() == {"enrolled": False}
    assert sign(api, victor, pending["id"], "review").json()["auth_method"] == "password"
