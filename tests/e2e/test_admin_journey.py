"""An administrator's day in the admin console, in a real browser: change a policy without writing JSON.

Signs in through the login page and works only through what is shown: the console's index, the policy
list, the structured editor ("Add a check"), the preview of the change in words, and the save.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from workflow.models import Policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def administrator():
    team = TeamFactory(name="credit-risk")
    return UserFactory(username="admin", role="admin", teams=[team], is_superuser=True, first_name="Ada")


def test_it_adds_a_required_check_to_a_policy_previews_and_saves_it(page, administrator):
    """GIVEN the shipped tier 3 policy (one ROC AUC check)
    WHEN the administrator adds a fairness bound in the console's editor, previews the change and saves
    THEN the preview says what changes in words, and version 2 is the active tier 3 policy with the check."""
    sign_in(page, "admin", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_text("Policies and controls")).to_be_visible()
    screenshot(page, "admin-index")

    page.get_by_role("link", name="Policies", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Policies")
    screenshot(page, "admin-policies")
    page.get_by_role("link", name="tier 3 policy v1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tier 3 policy, version 1")

    page.get_by_role("button", name="Add a check").click()
    row = page.locator("#check-rows tbody tr").last
    row.get_by_label("New check: Check").select_option("fairness")
    row.get_by_label("New check: Metric").select_option("demographic_parity_ratio")
    row.get_by_label("New check: At least").fill("0.8")
    screenshot(page, "admin-policy-editor")

    page.get_by_role("button", name="Preview the change").click()
    summary = page.locator(".change-summary")
    expect(summary).to_contain_text(
        "Approval will need a fairness check with demographic parity ratio at least 0.8."
    )
    assert Policy.objects.filter(tier=3).count() == 1  # nothing saved by the preview
    screenshot(page, "admin-policy-preview")

    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".messagelist")).to_contain_text("now the active policy for tier 3")
    screenshot(page, "admin-policy-saved")

    active = Policy.objects.get(tier=3, is_active=True)
    assert active.version == 2
    assert {"kind": "fairness", "metric": "demographic_parity_ratio", "min": 0.8} in active.required_checks
    assert Policy.objects.get(tier=3, version=1).is_active is False


def test_it_shows_the_apps_own_error_pages_and_only_the_menu_a_role_may_open(page, administrator):
    """An ML engineer is not offered the audit log, and an unknown page is the app's own 404."""
    UserFactory(
        username="maya", role="ml-engineer", teams=[administrator.groups.get(name="team:credit-risk").team]
    )
    sign_in(page, "maya", PASSWORD)
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Checks")).to_be_visible()
    expect(menu.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(menu.get_by_role("link", name="Admin")).to_have_count(0)

    page.goto("/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    screenshot(page, "error-404")
    page.goto("/audit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You may not open this page")
    screenshot(page, "error-403")


@pytest.mark.usefixtures("outbound_loopback_allowed")  # the receiver listens on 127.0.0.1
def test_it_adds_a_grc_connector_and_sends_it_a_test_event(page, administrator):
    """An administrator adds a webhook connector, copies its secret, and the test event reaches the
    receiver (a local listener) signed with it; the console's other pages are photographed on the way."""
    from reports.models import GrcConnector
    from tests.reports.records_support import Receiver
    from workflow.models import Control

    sign_in(page, "admin", PASSWORD)
    page.goto("/admin/governance/control/")
    screenshot(page, "admin-controls", full_page=False)
    page.goto(f"/admin/governance/control/{Control.objects.get(key='SR11-7.VAL.OM').pk}/change/")
    screenshot(page, "admin-control")
    page.goto(f"/admin/governance/control/{Control.objects.get(key='AIA-IV.2').pk}/change/")
    screenshot(page, "admin-control-annex-iv")
    page.goto("/admin/auth/group/")
    screenshot(page, "admin-roles")

    with Receiver() as receiver:
        page.goto("/admin/reports/grcconnector/add/")
        page.get_by_label("Name").fill("archer")
        page.get_by_label("Signed webhook", exact=False).check()
        page.get_by_label("URL").fill(receiver.url("/grc"))
        screenshot(page, "admin-connector-add")
        page.get_by_role("button", name="Save", exact=True).click()
        secret = GrcConnector.objects.get(name="archer").secret
        expect(page.locator("#generated-secret")).to_have_value(secret)
        screenshot(page, "admin-connector-secret")
        page.get_by_role("button", name="Send a test event").click()
        expect(page.locator("#test-result")).to_contain_text("Delivered.")
        screenshot(page, "admin-connector-test")
        assert [message["path"] for message in receiver.received] == ["/grc"]
