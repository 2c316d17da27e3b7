"""A real OpenID Provider for the SSO tests (panva's certified ``oidc-provider`` on Node.js), one process per
module, installed once under ``var/oidc-provider-node`` (npm ci, a few seconds the first time)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounts.models import GroupMapping, IdentityProvider, Team
from tests.accounts.sso.oidc_provider.install import NodeMissing, install

CLIENT_ID, CLIENT_SECRET = "attest-test", "attest-test-secret-0123456789"
CALLBACK = "http://testserver/sso/oidc/corp/callback/"
ACCOUNTS = {
    "vera": {
        "password": "vera-password",
        "claims": {
            "preferred_username": "vera",
            "email": "vera@corp.example",
            "given_name": "Vera",
            "family_name": "Validator",
            "groups": ["mrm-validators", "credit-risk"],
        },
    },
    "nina": {
        "password": "nina-password",
        "claims": {"preferred_username": "nina", "email": "nina@corp.example", "groups": ["marketing"]},
    },
}


def _installed() -> Path:
    try:
        return install()
    except NodeMissing as missing:
        pytest.fail(str(missing))


@dataclass
class TestIdP:
    issuer: str

    def control(self, what: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.issuer}/admin/{what}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def set_groups(self, account: str, groups: list[str]) -> None:
        entry = json.loads(json.dumps(ACCOUNTS[account]))
        entry["claims"]["groups"] = groups
        self.control("accounts", {account: entry})

    def reset(self) -> None:
        self.control("accounts", json.loads(json.dumps(ACCOUNTS)))
        self.control("login", {"stale_seconds": 0, "acr": "urn:attest:test:pwd", "amr": ["pwd"]})


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    directory = _installed()
    config = tmp_path_factory.mktemp("idp") / "config.json"
    config.write_text(
        json.dumps(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [CALLBACK],
                "post_logout_redirect_uris": ["http://testserver/login/"],
                "accounts": ACCOUNTS,
            }
        )
    )
    process = subprocess.Popen(
        ["node", "server.mjs", str(config)],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()  # printed once it listens
        if not line:
            pytest.fail("the test OpenID Provider did not start")
        yield TestIdP(issuer=json.loads(line)["issuer"])
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def corp(idp, db, settings, credit_risk):
    """Provider ``corp`` at the test IdP: validators group → validator role and the credit-risk team."""
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    idp.reset()
    provider = IdentityProvider.objects.create(
        name="corp",
        title="Corp SSO",
        protocol="oidc",
        issuer=idp.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes="openid email profile groups",
        step_up_acr="urn:attest:test:pwd urn:attest:test:mfa",
    )
    GroupMapping.objects.create(provider=provider, group="mrm-validators", role="validator")
    GroupMapping.objects.create(
        provider=provider, group="credit-risk", team=Team.objects.get(pk=credit_risk.pk)
    )
    GroupMapping.objects.create(provider=provider, group="mrm-engineers", role="ml-engineer")
    return provider


def idp_login(
    client, start_url: str, account: str = "vera", password: str | None = None, before_callback=None
):
    """Follow Attest's redirect to the IdP, sign in on its form (a real browser's steps, with requests),
    and hand the IdP's redirect back to Attest's callback (Django's test client). Returns that response."""
    response = client.get(start_url)
    assert response.status_code == 302, response.content[:500]
    browser = client.idp_browser
    answer = idp_follow(browser, response["Location"])
    if "/interaction/" in answer:
        login = browser.post(
            f"{answer}/login",
            data={"login": account, "password": password or ACCOUNTS[account]["password"]},
            allow_redirects=False,
            timeout=10,
        )
        assert login.status_code == 303, login.text[:300]
        answer = idp_follow(browser, login.headers["Location"])
    assert answer.startswith(CALLBACK), answer
    if before_callback is not None:
        before_callback(client)
    parts = urlsplit(answer)
    return client.get(parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()})


def idp_follow(browser: requests.Session, url: str) -> str:
    """Follow the IdP's redirects until they leave it (to Attest) or reach its login page."""
    for _ in range(10):
        if url.startswith(CALLBACK) or re.search(r"/interaction/[^/]+$", urlsplit(url).path):
            return url
        response = browser.get(url, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), response.text[:500]
        url = requests.compat.urljoin(url, response.headers["Location"])
    raise AssertionError("the IdP redirected too often")


@pytest.fixture
def sso_client(client):
    """Django's test client for Attest, with a ``requests`` session as the browser's cookie jar at the IdP."""
    client.idp_browser = requests.Session()
    return client
