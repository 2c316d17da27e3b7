"""SAML 2.0 sign-in against a real pysaml2 IdP on 127.0.0.1 (tests/accounts/sso/saml_idp.py)."""

from __future__ import annotations

import base64
import html
import os
import stat

import pytest
from django.urls import reverse
from saml2 import BINDING_HTTP_POST
from saml2.attribute_converter import ac_factory
from saml2.mdstore import InMemoryMetaData

from accounts.models import FederatedIdentity, User
from audit.models import AuditEvent
from tests.accounts.sso.saml_fixtures import vera_attributes
from tests.accounts.sso.saml_idp import hidden_fields


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


pytestmark = pytest.mark.django_db


def roles(user) -> set[str]:
    return set(user.groups.exclude(name__startswith="team:").values_list("name", flat=True))


def teams(user) -> set[str]:
    return {
        name.removeprefix("team:")
        for name in user.groups.filter(name__startswith="team:").values_list("name", flat=True)
    }


def test_sp_metadata_is_served_and_parseable(client, corp, sp_keys):
    """GIVEN a SAML provider WHEN its metadata URL is read THEN pysaml2 parses it: the entity ID is that URL,
    the ACS takes HTTP-POST, requests are signed, assertions must be; the key file is private."""
    response = client.get(reverse("sso-saml-metadata", args=["corp"]))

    assert response.status_code == 200
    entity_id = "http://testserver/sso/saml/corp/metadata/"
    metadata = InMemoryMetaData(ac_factory(), response.content.decode())
    metadata.load()
    descriptor = metadata[entity_id]["spsso_descriptor"][0]
    assert descriptor["authn_requests_signed"] == "true"
    assert descriptor["want_assertions_signed"] == "true"
    acs = descriptor["assertion_consumer_service"][0]
    assert (acs["location"], acs["binding"]) == ("http://testserver/sso/saml/corp/acs/", BINDING_HTTP_POST)
    certificate = "".join(sp_keys[1].read_text().splitlines()[1:-1])
    assert certificate in response.content.decode().replace("\n", "")
    assert stat.S_IMODE(os.stat(sp_keys[0]).st_mode) == 0o600


def test_sign_in_creates_the_account_with_the_mapped_role_and_team(browser, corp):
    """GIVEN vera in model-validators at the IdP WHEN she signs in THEN her account is made with the
    validator role, the credit-risk team, her names and e-mail, linked to her NameID; she lands on next."""
    response = browser.sign_in(next_url="/models/")

    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/models/"
    vera = User.objects.get(username="vera")
    assert (vera.email, vera.first_name, vera.last_name) == ("vera@corp.example", "Vera", "Validator")
    assert roles(vera) == {"validator"}
    assert teams(vera) == {"credit-risk"}
    assert FederatedIdentity.objects.get(user=vera).subject == "vera-0001"
    assert not vera.has_usable_password()
    assert browser.client.get("/").wsgi_request.user == vera
    assert AuditEvent.objects.filter(action="auth.sso_login", actor_username="vera").exists()


def test_groups_changed_at_the_idp_change_the_role_at_the_next_sign_in(browser, corp, saml_idp):
    """GIVEN vera signed in as a validator WHEN the IdP moves her to ml-engineers and she signs in again
    THEN she is an ML engineer, no longer in the team the validators' mapping governs."""
    assert browser.sign_in().status_code == 302
    saml_idp.users["vera"].attributes = vera_attributes(["ml-engineers"])

    assert browser.sign_in().status_code == 302

    vera = User.objects.get(username="vera")
    assert roles(vera) == {"ml-engineer"}
    assert teams(vera) == set()
    assert FederatedIdentity.objects.get(user=vera).groups == ["ml-engineers"]


def assert_refused(response, why: str):
    """A 403 page saying why, nobody signed in, the refusal audited."""
    page = html.unescape(response.content.decode())
    assert response.status_code == 403, page[:500]
    assert why in page, page[page.find("<main") :][:1500]
    assert not User.objects.filter(username="vera").exists()
    assert "_auth_user_id" not in response.wsgi_request.session
    refusal = AuditEvent.objects.filter(action="auth.sso_refused").latest("seq")
    assert why in refusal.after["why"]


@pytest.mark.parametrize(
    ("misbehaviour", "why"),
    [
        ({"sign_assertion": False}, "its assertion is not signed (signed assertions are required)"),
        ({"rogue_key": True}, "not signed with the identity provider's key"),
        ({"lifetime_minutes": -5}, "expired"),
    ],
    ids=["unsigned-assertion", "other-key", "expired"],
)
def test_an_assertion_that_does_not_verify_is_refused(browser, saml_idp, misbehaviour, why):
    """GIVEN an IdP that leaves the assertion unsigned (in a signed response), signs it with another key, or
    sends one that expired beyond the clock allowance WHEN it is posted THEN 403 saying why, audited."""
    for name, value in misbehaviour.items():
        setattr(saml_idp.behaviour, name, value)

    response = browser.sign_in()

    assert_refused(response, why)


def test_a_replayed_response_is_refused(browser):
    """GIVEN vera signed in with a response WHEN the same response is posted again THEN 403: each
    request's answer is accepted once."""
    fields = browser.through_idp(reverse("sso-saml-login", args=["corp"]))
    assert browser.post_acs(fields).status_code == 302

    replayed = browser.post_acs(fields)

    assert replayed.status_code == 403
    assert "unsolicited or replayed" in html.unescape(replayed.content.decode())


def test_a_response_to_another_sessions_request_is_refused(browser, client_factory):
    """GIVEN a response the IdP made for a request of another browser WHEN it is posted in this browser's
    session (login CSRF, a stolen response) THEN 403, and nobody is signed in."""
    fields = browser.through_idp(reverse("sso-saml-login", args=["corp"]))
    other = client_factory()
    other.get(reverse("sso-saml-login", args=["corp"]))  # a session with an open request of its own

    response = browser.post_acs(fields, client=other)

    assert_refused(response, "unsolicited or replayed")


def test_a_response_to_another_request_of_the_session_is_refused(browser):
    """GIVEN two open sign-ins in one session WHEN the response to the first arrives with the second's
    RelayState THEN 403: its InResponseTo is not the request that RelayState stands for."""
    first = browser.through_idp(reverse("sso-saml-login", args=["corp"]))
    second = browser.through_idp(reverse("sso-saml-login", args=["corp"]))

    response = browser.post_acs({**first, "RelayState": second["RelayState"]})

    assert_refused(response, "answers no request this session made")


BOMB = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>'
MALFORMED = {
    "not base64": "not base64 at all!",
    "not XML": base64.b64encode(b"<unclosed").decode(),
    "empty": "",
    "binary": base64.b64encode(b"\xff\xfe").decode(),
    "not a SAML Response": base64.b64encode(b"<html><body>Sign-in failed</body></html>").decode(),
    "an entity expansion (billion laughs)": base64.b64encode(BOMB).decode(),
    "a DTD": base64.b64encode(b'<!DOCTYPE Response SYSTEM "http://127.0.0.1:9/x.dtd"><Response/>').decode(),
}


def test_a_malformed_response_is_a_400_page(browser):
    """GIVEN a SAMLResponse that is not base64 of XML, or XML with a DTD WHEN posted THEN a 400 page saying
    so, not a 500 (the XML is never expanded)."""
    browser.client.get(reverse("sso-saml-login", args=["corp"]))
    for case, saml_response in MALFORMED.items():
        response = browser.client.post(
            reverse("sso-saml-acs", args=["corp"]), {"SAMLResponse": saml_response, "RelayState": "x"}
        )

        assert response.status_code == 400, case
        assert "The identity provider's answer" in html.unescape(response.content.decode()), case


def test_no_mapped_group_is_refused_and_audited(browser, saml_idp):
    """GIVEN vera in no group any mapping names WHEN she signs in THEN 403 saying so; the refusal audited
    with her groups; no account made."""
    saml_idp.users["vera"].attributes = vera_attributes(["canteen-committee"])

    response = browser.sign_in()

    assert_refused(response, "grants a role in Attest")
    refusal = AuditEvent.objects.filter(action="auth.sso_refused").latest("seq")
    assert refusal.after["groups"] == ["canteen-committee"]
    assert refusal.after["subject"] == "vera-0001"


def test_the_post_without_the_session_cookie_is_relayed_from_our_origin(browser, client_factory, settings):
    """GIVEN the IdP's cross-site POST arriving without the SameSite=Lax session cookie WHEN posted THEN a
    page re-posts the same fields from Attest's origin (marked relayed); posted relayed without a session,
    it is refused as unsolicited."""
    fields = browser.through_idp(reverse("sso-saml-login", args=["corp"]))
    cookieless = client_factory()

    relay = browser.post_acs(fields, client=cookieless)

    assert relay.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in relay.cookies  # the browser's real session cookie stays
    relayed = hidden_fields(relay.content.decode())
    assert relayed["SAMLResponse"] == fields["SAMLResponse"]
    assert relayed["relayed"] == "1"
    assert cookieless.post(relayed["action"], relayed).status_code == 403
    assert browser.client.post(relayed["action"], relayed).status_code == 302  # the session that asked


def test_idp_metadata_is_fetched_from_its_url_under_the_address_policy(
    browser, corp, saml_idp, settings, outbound_loopback_allowed
):
    """GIVEN a provider configured with the IdP's metadata URL WHEN vera signs in THEN the metadata is
    fetched (127.0.0.1 allow-listed) and sign-in works; without the allow-list entry the provider is
    unavailable (503 page saying the address is refused)."""
    corp.metadata_xml, corp.metadata_url = "", f"{saml_idp.base}/metadata"
    corp.save()

    assert browser.sign_in().status_code == 302

    from django.core.cache import cache

    cache.clear()
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = []
    refused = browser.client.get(reverse("sso-saml-login", args=["corp"]))
    assert refused.status_code == 503
    assert "could not be fetched" in html.unescape(refused.content.decode())


def test_without_xmlsec1_the_provider_says_what_to_install(client, corp, saml_idp, monkeypatch, tmp_path):
    """GIVEN a server without the xmlsec1 program WHEN someone signs in through a SAML provider THEN a 503
    page names the package to install; the provider's configuration check and check --deploy report it."""
    from accounts.sso.checks import xmlsec1_for_saml
    from accounts.sso.saml import configuration_problems

    monkeypatch.setenv("PATH", str(tmp_path))

    response = client.get(reverse("sso-saml-login", args=["corp"]))

    assert response.status_code == 503
    assert "xmlsec1" in response.content.decode()
    assert any("Debian/Ubuntu package xmlsec1" in problem for problem in configuration_problems(corp))
    assert [error.id for error in xmlsec1_for_saml()] == ["accounts.E101"]
    monkeypatch.undo()
    assert configuration_problems(corp) == []
    assert xmlsec1_for_saml() == []
