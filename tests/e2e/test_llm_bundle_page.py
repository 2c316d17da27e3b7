"""An LLM application's version page in the browser: the bundle's components and digests, readable on a phone.

Screenshots under var/screenshots/ (``llm-bundle-*``).
"""

from __future__ import annotations

import pytest

from registry.services import inventory
from registry.services.versions import model_version_bundle_submit
from tests.e2e.conftest import PHONE, screenshot, sign_in
from tests.e2e.test_comparison_journey import CLIPPED
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.registry.test_llm_bundles import BUNDLE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_bundle_page_shows_each_component_and_fits_a_phone(page, shared_media, csp_refusals):
    team = TeamFactory(name="credit-risk")
    maya = UserFactory(username="maya", role="ml-engineer", teams=[team])
    app = inventory.model_create(
        actor=maya,
        team=team,
        name="loan-assistant",
        title="Loan assistant",
        kind="llm_application",
        tier_answers={
            "materiality": "low",
            "complexity": "low",
            "reliance": "low",
            "regulatory_exposure": "low",
        },
        autonomy_level="assistive",
    )
    version, _ = model_version_bundle_submit(actor=maya, model=app, components=BUNDLE)
    sign_in(page, "maya", PASSWORD)

    page.goto(f"/models/{app.name}/versions/{version.version}/")

    assert page.locator("#bundle-digest").inner_text() == version.bundle["digest"]
    template = page.locator('[data-template="user"] pre')
    assert template.inner_text() == BUNDLE["prompt_templates"][1]["text"]
    assert (
        page.locator('[data-component="guardrails"]').inner_text()
        == version.bundle["component_digests"]["guardrails"]
    )
    screenshot(page, "llm-bundle-desktop")
    page.set_viewport_size(PHONE)
    page.reload()
    layout = page.evaluate(CLIPPED)
    # the bundle card itself stays within the screen (the lineage graph further down scrolls on its own)
    bundle_right = page.evaluate("() => document.querySelector('#bundle').getBoundingClientRect().right")
    # the prompt text wraps inside its box rather than running past the card
    overflowing = page.evaluate(
        "() => [...document.querySelectorAll('#bundle pre')].filter(p => p.scrollWidth > p.clientWidth + 1).length"
    )
    screenshot(page, "llm-bundle-phone")
    assert layout["clipped"] == [], layout
    assert bundle_right <= layout["width"]
    assert overflowing == 0
    assert csp_refusals == []
