"""The validation report, read back from the PDF: what an auditor opening it must find."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reports.rendering.common import utc_text
from reports.rendering.inputs import canonical_json, inputs_digest
from reports.rendering.validation import build_validation_pdf
from tests.reports import samples
from tests.reports.conftest import contents_entries, network_blocked, outline_titles, pdf_text, read_pdf

SECTIONS = (
    "Executive summary",
    "Scope",
    "Conceptual soundness",
    "Data",
    "Outcomes analysis",
    "Fairness",
    "Explainability",
    "Stability (drift)",
    "Findings",
    "Approvals",
    "Evidence index",
    "Control coverage",
)


@pytest.fixture(scope="module")
def data():
    return samples.validation_input(description=samples.MALICIOUS)


@pytest.fixture(scope="module")
def report(data):
    with network_blocked():
        return build_validation_pdf(data)


@pytest.fixture(scope="module")
def text(report):
    return pdf_text(report.pdf)


def test_it_reports_the_page_count_of_the_pdf(report):
    assert report.page_count == len(read_pdf(report.pdf).pages) > 5


def test_it_prints_the_cover_facts(report, text):
    cover = text.split("\f")[0]
    assert "Validation report: credit-default v7" in cover
    assert "RPT-2025-0042-validation" in cover
    assert "Tier 1 (high)" in cover
    assert samples.EVIDENCE_DIGEST in cover
    assert samples.CHAIN_HEAD in cover
    assert "sequence 48213" in cover
    assert "Pass with warnings" in cover


def test_it_lists_every_section_in_the_contents_with_its_page(text):
    entries = contents_entries(text)
    pages = text.split("\f")
    for title in SECTIONS:
        assert title in entries, title
        assert title in pages[entries[title] - 1], f"{title} is not on page {entries[title]}"


def test_it_numbers_pages_x_of_y(report, text):
    total = report.page_count
    for number, page in enumerate(text.split("\f"), start=1):
        assert f"Page {number} of {total}" in page


def test_it_repeats_the_running_header_after_the_cover(text):
    pages = text.split("\f")
    assert "credit-default v7 · validation report" not in pages[0]
    assert all("credit-default v7 · validation report" in page for page in pages[1:])


def test_it_bookmarks_the_cover_contents_and_sections(report):
    titles = outline_titles(report.pdf)
    assert titles[:2] == ["Cover", "Contents"]
    assert [t for t in titles if t in SECTIONS] == list(SECTIONS)
    assert "disparate impact ratio by sex" in titles


def test_it_shows_every_signers_printed_name_meaning_and_time(data, text):
    approvals = text[text.index("Stage Printed name Meaning") :]
    for signature in data.approvals:
        row = next(line for line in approvals.splitlines() if signature.printed_name in line)
        assert signature.meaning in row
        assert utc_text(signature.signed_at) in row


def test_it_prints_the_model_description_as_text_not_markup(report, text):
    # The description's markup is shown literally; nothing was fetched for it.
    assert '<script>alert(1)</script> <img src="file:///etc/passwd"> url(http://169.254.169.254/)' in text
    assert report.refused == ()  # the fetcher was asked for nothing outside the bundle
    assert report.blocked == ()  # no socket or process attempt in the worker (none here: network_blocked)


def test_it_writes_document_metadata(report, data):
    metadata = read_pdf(report.pdf).metadata
    assert metadata.title == "Validation report: credit-default v7"
    assert metadata.author == "Attest"
    assert metadata["/CreationDate"] == "D:20250314092653Z"
    assert metadata["/attestdocumentid"] == "RPT-2025-0042-validation"
    assert metadata["/attestinputssha256"] == inputs_digest(data) == report.inputs_digest


def test_it_describes_the_record_of_the_report(report):
    assert report.kind == "validation"
    assert report.subject == "model credit-default v7"
    assert report.generated_at == samples.GENERATED_AT
    assert len(report.pdf_sha256) == len(report.text_digest) == 64


def test_it_renders_the_same_inputs_to_the_same_pdf(report, data, text):
    again = build_validation_pdf(data)
    assert pdf_text(again.pdf) == text
    assert again.text_digest == report.text_digest
    assert again.pdf_sha256 == report.pdf_sha256


def test_it_embeds_results_and_manifest_in_the_pdfa_variant(data):
    report = build_validation_pdf(data, variant="pdf/a-3b")
    reader = read_pdf(report.pdf)
    assert reader.attachments["results.json"] == [canonical_json(data.check_runs)]
    assert reader.attachments["manifest.json"] == [canonical_json(data.manifest)]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp
    assert b'pdfaid:conformance="B"' in xmp
    assert report.variant == "pdf/a-3b"


def test_it_says_when_evidence_is_missing():
    bare = replace(
        samples.validation_input(), performance=None, fairness=(), explainability=None, stability=None
    )
    text = pdf_text(build_validation_pdf(bare).pdf)
    for notice in (
        "No performance evidence",
        "No fairness evidence",
        "No explainability evidence",
        "No drift evidence",
    ):
        assert notice in text
