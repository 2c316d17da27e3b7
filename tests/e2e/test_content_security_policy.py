"""The pages work under the Content-Security-Policy (config.security_headers), in a real browser: nothing is
refused (the console would say "Refused to …"), and the behaviour that used to be inline still works."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_journeys import demo  # noqa: F401 (the demo data of `make run`)
from workflow.models import ApprovalRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def refusals(page):
    """Every CSP refusal and script error the browser reports on this page."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


def test_the_signing_dialog_and_the_pages_work_under_the_policy(page, demo, refusals):  # noqa: F811
    sign_in(page, "rita", demo)
    for path in ("/", "/models/", "/approvals/", "/account/totp/"):
        page.goto(path)
    page.goto(f"/approvals/{ApprovalRequest.objects.get().pk}/")

    page.get_by_role("button", name="Sign this request…").click()  # the nonced inline script opens it
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()  # data-close-dialog, in static/js/attest.js
    expect(dialog).to_be_hidden()

    page.goto("/account/tokens/")
    page.get_by_role("button", name=re.compile("Create", re.IGNORECASE)).click()
    secret = page.locator("#new-secret")
    secret.click()  # data-select-on-click selects the secret for copying
    start, end, length = page.evaluate(
        "() => { const e = document.getElementById('new-secret');"
        " return [e.selectionStart, e.selectionEnd, e.value.length]; }"
    )
    assert (start, end) == (0, length)
    assert length > 0

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_contain_text("Attest API")
    assert refusals == []
