"""The frame around every page: the app's own 404, 403 and 500 pages (also in demo mode, where DEBUG stays
off), a navigation that shows each person only what they may open, the dashboard's own-teams line, and
the favicon.

Personas (tests/conftest.py): maya (ml-engineer) and victor (validator) in credit-risk, rita (risk
officer), aaron (auditor), admin; olga (ml-engineer) is in team fraud.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from workflow import selectors

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
EVERYONE = [
    "Dashboard",
    "Portfolio",
    "Inventory",
    "Datasets",
    "Approvals",
    "Findings",
    "Checks",
    "Monitoring",
    "Reports",
    "API",
]


@pytest.fixture(autouse=True)
def debug_off(settings):
    settings.DEBUG = False


def menu(response) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', response.content.decode(), re.S)
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav.group(1)) if nav else []


def has_site_layout(response) -> bool:
    page = response.content.decode()
    return all(part in page for part in ('class="topbar"', "css/attest.css", 'rel="icon"', "favicon.svg"))


# --- error pages -----------------------------------------------------------------------------------------


def test_it_answers_an_unknown_page_with_its_own_404_and_the_menu(client, maya):
    client.force_login(maya)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert has_site_layout(response)
    assert "Page not found" in response.content.decode()
    assert menu(response) == EVERYONE


def test_it_offers_sign_in_on_a_404_to_someone_signed_out(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert has_site_layout(response)
    assert menu(response) == []
    assert reverse("login") in response.content.decode()


def test_it_keeps_the_json_body_for_unknown_api_paths(client, maya):
    client.force_login(maya)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["message"] == "Not found."


def test_it_answers_a_forbidden_page_with_its_own_403(client, maya):
    client.force_login(maya)
    response = client.get(reverse("audit-log"))
    assert response.status_code == 403
    assert has_site_layout(response)
    assert "You may not open this page" in response.content.decode()
    assert "Audit log" not in menu(response)


def test_it_answers_a_server_error_with_its_own_500_page(monkeypatch, maya):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "overdue_reviews", broken)
    client = Client(raise_request_exception=False)
    client.force_login(maya)
    response = client.get(reverse("dashboard"), HTTP_X_REQUEST_ID="req-5e77")
    assert response.status_code == 500
    assert has_site_layout(response)
    assert "Something went wrong on our side" in response.content.decode()
    assert "req-5e77" in response.content.decode()


def test_it_shows_the_error_page_as_a_503_when_the_database_is_down(monkeypatch, maya):
    """GIVEN a signed-in person WHEN the database stops answering THEN the error page still renders, as a
    503 (an outage to wait out, not a bug)."""
    client = Client(raise_request_exception=False)
    client.force_login(maya)

    def refused(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refused)
    response = client.get(reverse("dashboard"))
    monkeypatch.undo()

    assert response.status_code == 503
    assert has_site_layout(response)
    assert "Something went wrong on our side" in response.content.decode()


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "ATTEST_DEBUG", "ATTEST_ENV", "ATTEST_DEMO"}
    }
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_keeps_debug_off_in_demo_mode_unless_a_developer_asks():
    assert load_settings(ATTEST_DEMO="1").stdout.strip() == "False"  # what `make run` sets
    assert load_settings(ATTEST_DEMO="1", ATTEST_DEBUG="1").stdout.strip() == "True"
    refused = load_settings(
        ATTEST_ENV="production",
        ATTEST_DEBUG="1",
        SECRET_KEY="9f$kq2!vLz8@pW3#rT6^yB1&nM4*cX7(hJ0)dG5-sA8+eU2=oI9",
        ALLOWED_HOSTS="attest.example.com",
        DATABASE_URL="postgres://attest@db.example.com:5432/attest",
        CELERY_BROKER_URL="redis://redis.example.com:6379/0",
    )
    assert refused.returncode != 0
    assert "ATTEST_DEBUG=1 (or DEBUG=1) is refused" in refused.stderr
    assert "ATTEST_DEBUG='maybe' is not a boolean" in load_settings(ATTEST_DEBUG="maybe").stderr


def test_it_serves_the_favicon(client):
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content if response.streaming else [response.content])


# --- navigation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "extra"),
    [
        ("maya", []),
        ("victor", []),
        ("olga", []),
        ("aaron", ["Audit log"]),
        ("rita", ["Audit log"]),
        ("admin_user", ["Audit log", "Admin"]),
    ],
)
def test_it_shows_each_role_only_the_pages_it_may_open(client, request, persona, extra):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    expected = [*EVERYONE[:-1], *[name for name in extra if name == "Audit log"], "API"]
    expected += [name for name in extra if name == "Admin"]
    assert menu(response) == expected
    links = re.findall(r'<nav aria-label="Main">.*?</nav>', response.content.decode(), re.S)[0]
    for url in re.findall(r'href="([^"]+)"', links):
        assert client.get(url).status_code == 200, url


def test_it_hides_the_admin_link_from_staff_without_the_administrator_role(client, credit_risk):
    client.force_login(UserFactory(username="stella", role="validator", teams=[credit_risk], is_staff=True))
    assert "Admin" not in menu(client.get(reverse("dashboard")))


def test_it_marks_the_page_being_shown(client, rita):
    client.force_login(rita)
    page = client.get(reverse("finding-list")).content.decode()
    assert '<a href="/findings/" aria-current="page">Findings</a>' in page
    assert page.count('aria-current="page"') == 1


# --- dashboard ---------------------------------------------------------------------------------------------


def test_it_lists_only_the_users_own_teams_on_the_dashboard(client, rita, fraud):
    client.force_login(rita)  # a risk officer sees every team's models, but belongs to credit-risk only
    page = client.get(reverse("dashboard")).content.decode()
    assert "Your team: credit-risk" in page
    assert "fraud" not in page


def test_it_lists_both_teams_of_someone_in_two(client, credit_risk, fraud):
    client.force_login(UserFactory(username="tess", role="validator", teams=[credit_risk, fraud]))
    assert "Your teams: credit-risk, fraud" in client.get(reverse("dashboard")).content.decode()
