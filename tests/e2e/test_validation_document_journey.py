"""A validator writes a validation report in the browser: sections, commentary on a check run, a
conditional rating, then reads it back and downloads it as Word."""

# ruff: noqa: F811  (the fixture imported from tests/workflow/conftest.py is used as an argument)

import io

import docx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, screenshot, sign_in
from tests.factories import PASSWORD, UserFactory
from tests.monitoring import factories
from tests.reports.test_validation_document_exports import performance_run
from tests.workflow.conftest import tier1_model  # noqa: F401 (a fixture)
from workflow.models import ValidationDocument

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_validator_writes_rates_and_exports_a_validation_report(
    page,
    shared_media,
    maya,
    credit_risk,
    tier1_model,
    csp_refusals,
):
    """GIVEN a tier-1 version with a performance run, and victor, a validator of its team
    WHEN he opens the version, writes the summary and the outcomes analysis, comments on the run, rates the
    model satisfactory with a condition and saves, then reads the document and downloads the DOCX
    THEN revision 1 is stored with what he typed, the read view shows the Markdown rendered and the run's
    ROC AUC, and the Word file carries the same rating, condition and number."""
    UserFactory(username="victor", role="validator", teams=[credit_risk], first_name="Victor")
    version = factories.skops_version(maya, tier1_model)
    run = performance_run(maya, version)
    sign_in(page, "victor", PASSWORD)

    page.goto(f"/models/{tier1_model.name}/versions/{version.version}/")
    page.get_by_role("link", name="Write the validation document").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Model validation report")
    expect(page.locator("#document-missing")).to_contain_text(
        "the required section 'Executive summary' is empty"
    )
    page.get_by_label("Text (Markdown)").first.fill("The model is **fit for retail credit**.")
    outcomes = page.locator("section", has=page.get_by_role("heading", name="Outcomes analysis"))
    expect(outcomes.locator("table")).to_contain_text("0.8123")
    outcomes.get_by_label("Text (Markdown)").fill("ROC AUC 0.8123 on the validation sample.")
    page.get_by_label(f"Commentary on run {run.pk}").fill("Checked the folds by hand.")
    page.get_by_label("Overall rating", exact=True).select_option("satisfactory_with_conditions")
    page.get_by_label("Condition 1", exact=True).fill("Add a challenger model")
    page.get_by_label("Due 1", exact=True).fill("2027-03-31")
    screenshot(page, "validation-document-editor")
    page.get_by_role("button", name="Save as revision 1").click()

    expect(page.locator(".messages")).to_contain_text("Saved revision 1")
    document = ValidationDocument.objects.get(model_version=version)
    assert document.revision == 1
    assert document.rating == "satisfactory_with_conditions"
    assert document.content["conditions"] == [{"text": "Add a challenger model", "due": "2027-03-31"}]
    assert document.content["check_notes"][0]["commentary"] == "Checked the folds by hand."

    page.get_by_role("link", name="Read view").click()
    expect(page.locator("#document-rating")).to_have_text("Satisfactory with conditions")
    expect(page.locator("strong", has_text="fit for retail credit")).to_be_visible()
    expect(page.locator("#conditions-table")).to_contain_text("2027-03-31")
    screenshot(page, "validation-document-read")
    page.set_viewport_size(PHONE)  # the tables reflow into label/value rows on a phone
    screenshot(page, "validation-document-read-phone")
    page.set_viewport_size(DESKTOP)
    with page.expect_download() as download:
        page.locator("#download-docx").click()
    word = docx.Document(io.BytesIO(download.value.path().read_bytes()))
    text = "\n".join(
        [p.text for p in word.paragraphs] + [c.text for t in word.tables for r in t.rows for c in r.cells]
    )
    for phrase in (
        "Satisfactory with conditions",
        "Add a challenger model",
        "2027-03-31",
        "0.8123",
        "fit for retail credit",
    ):
        assert phrase in text, phrase
    assert csp_refusals == []
