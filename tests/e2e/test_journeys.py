"""The days of Attest's users, in a real browser.

Each journey signs in through the login page and works only through what a person sees and clicks.
"""

import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_signs_in_and_lands_on_the_dashboard(page):
    team = TeamFactory(name="credit-risk")
    UserFactory(username="maya", role="ml-engineer", teams=[team], first_name="Maya")

    sign_in(page, "maya", "wrong password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    sign_in(page, "maya", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maya")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


@pytest.fixture
def demo(settings, shared_media):
    """The demo story of `make run`: users, the German credit model, its checks, a half-signed approval."""
    from accounts.demo import seed_users
    from registry.demo import seed_registry
    from workflow.demo_workflow import seed_workflow

    settings.ATTEST_DEMO = True
    settings.ATTEST_ALERT_TASK = ""
    seed_users()
    seed_registry()
    seed_workflow()
    return settings.ATTEST_DEMO_PASSWORD


def test_it_walks_through_a_day_of_model_risk_governance(page, demo, celery_worker, csp_refusals):
    """GIVEN the demo data and a worker
    WHEN rita signs the pending approval, aaron verifies the audit chain and downloads an evidence
    bundle, and maya runs a drift check
    THEN each sees the outcome in the browser, screenshots of the main pages are saved, and nothing on the
    way was refused by the Content-Security-Policy (config.security_headers) or raised a script error.
    (One journey for both: seeding the demo costs most of a minute.)"""
    password = demo

    # Risk officer: sign the approval waiting for her; a wrong password first.
    sign_in(page, "rita", password)
    screenshot(page, "dashboard")
    _what_used_to_be_inline_works_under_the_policy(page)
    page.goto("/approvals/")
    screenshot(page, "approvals-queue")
    page.locator("table").get_by_role("link", name="#").first.click()
    page.locator("#sign-open").click()  # the nonced inline script opens it
    dialog = page.locator("#sign-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()  # data-close-dialog, in static/js/attest.js
    expect(dialog).to_be_hidden()
    page.locator("#sign-open").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Approve").check()
    dialog.get_by_label("Comment").fill("Risk approval for production.")
    dialog.get_by_label("Password").fill("not my password")
    screenshot(page, "approval-sign-dialog", full_page=False)
    dialog.get_by_role("button", name="Sign", exact=True).click()
    expect(page.locator("#sign-error")).to_contain_text("not correct")
    page.locator("#sign-dialog").get_by_label("Password").fill(password)
    page.locator("#sign-dialog").get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("sign", ignore_case=True)
    expect(page.locator("#approval-status")).to_contain_text("Pending")
    expect(page.locator("body")).to_contain_text("Rita")
    screenshot(page, "approval")
    page.set_viewport_size(PHONE)
    screenshot(page, "approval-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Auditor: verify the audit chain and download an evidence bundle.
    sign_in(page, "aaron", password)
    page.goto("/findings/")
    screenshot(page, "findings")
    page.goto("/audit/")
    page.locator("#verify-now").click()
    expect(page.locator("#verification-status")).to_contain_text("intact", timeout=240_000)
    screenshot(page, "audit-log")

    page.goto("/reports/?model=credit-scoring")
    bundle_form = page.locator("section", has=page.get_by_role("heading", name="Evidence bundle"))
    bundle_form.get_by_label("Version").fill("1")
    bundle_form.get_by_role("button", name="Generate evidence bundle").click()
    expect(page.locator("#bundle-status")).to_contain_text("succeeded", timeout=300_000)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download bundle").first.click()
    bundle = download_info.value
    with zipfile.ZipFile(bundle.path()) as archive:
        names = archive.namelist()
    assert any(name.endswith("manifest-sha256.txt") for name in names)
    assert any(name.endswith("bagit.txt") for name in names)
    screenshot(page, "reports")

    # ML engineer: start a drift check on the demo model and watch it finish. (Last: a new check run
    # changes the evidence a pending approval was requested on, which would invalidate it.)
    sign_in(page, "maya", password)
    page.goto("/models/")
    screenshot(page, "inventory")
    page.get_by_role("link", name="credit-scoring").first.click()
    screenshot(page, "model")
    page.goto("/models/credit-scoring/versions/1/")
    screenshot(page, "version")
    page.goto("/checks/new/?model=credit-scoring&version=1&kind=drift")
    page.get_by_role("button", name="Start check").click()
    status = page.locator("#run-status")
    expect(status).to_have_text("succeeded", timeout=240_000)
    screenshot(page, "check-run")
    assert csp_refusals == []


def _what_used_to_be_inline_works_under_the_policy(page) -> None:
    """The token page selects a new secret on click (data-select-on-click); the API docs render."""
    page.goto("/account/totp/")
    page.goto("/account/tokens/")
    page.get_by_role("button", name=re.compile("Create", re.IGNORECASE)).click()
    page.locator("#new-secret").click()
    start, end, length = page.evaluate(
        "() => { const e = document.getElementById('new-secret');"
        " return [e.selectionStart, e.selectionEnd, e.value.length]; }"
    )
    assert (start, end) == (0, length)
    assert length > 0
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_contain_text("Attest API")
