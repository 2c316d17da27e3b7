"""The LLM demo in the browser: rita signs loan-assistant v1's pending approval and is told that v2 changed
the bundle's prompt, so the request is void; maya reads the bundle, the red-team run and the telemetry;
victor reads v2's gate (approved, deployed to production, closed since: the application is under review
after a telemetry breach), the breach in the monitoring inbox and the finding it became.

Seeds only the users and the LLM demo (seconds), not the credit demo. Screenshots under var/screenshots/
(``llm-demo-*``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def llm_demo(settings, shared_media):
    from accounts.demo import seed_users
    from workflow.demo_llm import seed_llm_demo

    settings.ATTEST_DEMO = True
    seed_users()
    seed_llm_demo()
    return settings.ATTEST_DEMO_PASSWORD


def test_a_prompt_change_voids_the_pending_approval_and_the_evidence_reads_in_the_browser(
    page, llm_demo, csp_refusals
):
    password = llm_demo
    sign_in(page, "rita", password)
    page.goto("/approvals/")
    page.locator("table tr", has_text="loan-assistant").get_by_role("link", name="#").first.click()
    expect(page.locator("body")).to_contain_text("loan-assistant")
    page.locator("#sign-open").click()
    dialog = page.locator("#sign-dialog")
    dialog.get_by_label("Approve").check()
    dialog.get_by_label("Comment").fill("Risk approval of the assistant.")
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Sign", exact=True).click()
    expect(page.locator("#sign-error")).to_contain_text("prompt_templates")
    page.reload()
    expect(page.locator("#approval-status")).to_contain_text("Invalidated")
    expect(page.locator("body")).to_contain_text("Superseded by v2")
    expect(page.locator("#evidence-heading + p + dl")).to_contain_text("Bundle digest")
    screenshot(page, "llm-demo-void-approval")

    page.context.clear_cookies()
    sign_in(page, "maya", password)
    page.goto("/models/loan-assistant/versions/1/")
    bundle = page.locator("#bundle")
    expect(bundle).to_contain_text("Prompt templates")
    expect(page.locator("body")).to_contain_text("Red-team")
    screenshot(page, "llm-demo-version")
    page.locator("#telemetry-link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("telemetry", ignore_case=True)
    expect(page.locator("table").first).to_contain_text("blocked", ignore_case=True)
    screenshot(page, "llm-demo-telemetry")

    sign_in(page, "victor", password)
    page.goto("/models/loan-assistant/versions/2/")
    production = page.locator('#gate-environments tr[data-environment="production"]')
    expect(production).to_have_attribute("data-allowed", "false")
    expect(production).to_contain_text("the model is under review")
    expect(production).to_contain_text("(critical) is open: Monitoring alert on loan-assistant v2")
    expect(production.locator("td.deployment")).to_contain_text("by maya (full)")
    screenshot(page, "llm-demo-v2-gate")

    page.goto("/monitoring/")
    row = page.locator("table tr", has_text="loan-assistant v2")
    expect(row).to_contain_text("guardrail block rate")
    expect(row).to_contain_text("production telemetry")
    screenshot(page, "llm-demo-alerts")
    row.get_by_role("link", name="Open").click()
    expect(page.locator("#alert-finding")).to_contain_text("Open")
    screenshot(page, "llm-demo-alert")
    page.locator("#alert-finding a").click()
    expect(page.locator("body")).to_contain_text("Monitoring alert on loan-assistant v2")
    expect(page.locator("body")).to_contain_text("Critical")
    screenshot(page, "llm-demo-finding")
    assert csp_refusals == []
