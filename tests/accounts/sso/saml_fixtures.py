"""Fixtures of the SAML tests: the test IdP (one per module), the ``corp`` SAML provider configured with its
metadata and group mappings, and a browser that carries Attest's session (Django's test client) and the
IdP's (requests) through the redirects and form posts."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from accounts.models import GroupMapping, IdentityProvider
from tests.accounts.sso.saml_idp import IdpUser, TestIdp, hidden_fields
from tests.factories import TeamFactory

IDP_PASSWORD = "idp-secret-1"


@pytest.fixture(scope="session")
def sp_key_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("saml-sp")


@pytest.fixture(scope="module")
def saml_idp(tmp_path_factory):
    if shutil.which("xmlsec1") is None:
        pytest.skip("xmlsec1 is not installed (Debian package xmlsec1; .ci/run installs it)")
    idp = TestIdp(tmp_path_factory.mktemp("saml-idp"))
    yield idp
    idp.stop()


@pytest.fixture
def sp_keys(settings, sp_key_dir):
    """The SP key pair under a tmp folder (written at the first request of the session)."""
    settings.ATTEST_SAML_SP_KEY = sp_key_dir / "saml-sp.key"
    settings.ATTEST_SAML_SP_CERT = sp_key_dir / "saml-sp.crt"
    return settings.ATTEST_SAML_SP_KEY, settings.ATTEST_SAML_SP_CERT


def vera_attributes(groups: list[str]) -> dict[str, list[str]]:
    return {
        "uid": ["vera"],
        "mail": ["vera@corp.example"],
        "givenName": ["Vera"],
        "sn": ["Validator"],
        "groups": groups,
    }


@pytest.fixture
def corp(db, saml_idp, sp_keys, client, credit_risk):
    """The ``corp`` SAML provider: validators of credit risk and ML engineers mapped; vera at the IdP."""
    provider = IdentityProvider.objects.create(
        name="corp",
        title="Corp SSO",
        protocol="saml",
        metadata_xml=saml_idp.metadata,
        groups_claim="groups",
    )
    GroupMapping.objects.create(
        provider=provider, group="model-validators", role="validator", team=credit_risk
    )
    GroupMapping.objects.create(provider=provider, group="ml-engineers", role="ml-engineer")
    GroupMapping.objects.create(
        provider=provider, group="fraud-analysts", team=TeamFactory(name="fraud", title="Fraud")
    )
    saml_idp.reset()
    saml_idp.sp_metadata = client.get(reverse("sso-saml-metadata", args=["corp"])).content.decode()
    saml_idp.users = {
        "vera": IdpUser(
            password=IDP_PASSWORD, subject="vera-0001", attributes=vera_attributes(["model-validators"])
        )
    }
    return provider


class Browser:
    """One person's browser: Attest's session in ``client``, the IdP's cookie in ``idp_session``."""

    def __init__(self, client, idp: TestIdp):
        self.client = client
        self.idp = idp
        self.idp_session = requests.Session()

    def through_idp(self, start: str, *, username: str = "vera", password: str = IDP_PASSWORD) -> dict:
        """Start at Attest, follow the AuthnRequest to the IdP (signing in when it asks); the response form."""
        started = self.client.get(start)
        assert started.status_code == 302, started.content.decode()[:500]
        page = self.idp_session.get(started["Location"], timeout=10)
        assert page.status_code == 200, page.text
        if 'name="pending"' in page.text:
            form = hidden_fields(page.text)
            page = self.idp_session.post(
                f"{self.idp.base}/login",
                data={"pending": form["pending"], "username": username, "password": password},
                timeout=10,
            )
        fields = hidden_fields(page.text)
        assert "SAMLResponse" in fields, page.text
        return fields

    def post_acs(self, fields: dict, client=None):
        return (client or self.client).post(
            urlsplit(fields["action"]).path,
            {"SAMLResponse": fields["SAMLResponse"], "RelayState": fields.get("RelayState", "")},
        )

    def sign_in(self, next_url: str = "/"):
        fields = self.through_idp(reverse("sso-saml-login", args=["corp"]) + f"?next={next_url}")
        return self.post_acs(fields)


@pytest.fixture
def browser(client, saml_idp, corp):
    return Browser(client, saml_idp)
