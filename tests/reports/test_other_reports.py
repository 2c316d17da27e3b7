"""Annex IV documentation, monitoring and audit evidence reports, read back from the PDF."""

from __future__ import annotations

import pytest

from reports.rendering.audit_evidence import build_audit_evidence_pdf
from reports.rendering.documentation import build_documentation_pdf, missing_items
from reports.rendering.monitoring import build_monitoring_pdf
from tests.reports import samples
from tests.reports.conftest import contents_entries, outline_titles, pdf_text
from workflow.annex_iv import ANNEX_IV


@pytest.fixture(scope="module")
def documentation():
    data = samples.documentation_input()
    report = build_documentation_pdf(data)
    return data, report, pdf_text(report.pdf)


def test_it_walks_the_nine_annex_iv_sections(documentation):
    _, report, text = documentation
    titles = outline_titles(report.pdf)
    for section in ANNEX_IV:
        assert f"{section.number}. {section.title}" in titles
    assert "What is still missing" in contents_entries(text)


def test_it_lists_what_is_still_missing(documentation):
    data, _, text = documentation
    missing = missing_items(data)
    keys = {item.key for item in missing}
    assert {"1e", "8"} <= keys  # nothing supplied
    assert not {"1a", "2d", "6"} & keys  # structured data counts
    assert "1b" not in keys  # answered
    listed = text[text.index("What is still missing\n") :]
    for item in missing:
        assert item.label in listed
    cover = text.split("\f")[0]
    total = sum(len(s.items) for s in ANNEX_IV)
    assert f"{total - len(missing)} of {total} items supplied; {len(missing)} not supplied" in cover


def test_it_has_nothing_missing_when_every_item_is_answered():
    assert missing_items(samples.documentation_input(complete=True)) == []


def test_it_charts_each_monitored_metric_over_the_period():
    data = samples.monitoring_input(days=10)
    report = build_monitoring_pdf(data)
    text = pdf_text(report.pdf)
    titles = outline_titles(report.pdf)
    for series in data.series:
        assert f"{series.name} ({series.check})" in titles
    assert "2025-02-01 to 2025-02-11" in text
    assert "F-201" in text
    assert report.subject == "model credit-default v7, 2025-02-01 to 2025-02-11"


def test_it_prints_the_audit_events_their_verification_and_the_checkpoint():
    data = samples.audit_input(events=12, ok=False)
    report = build_audit_evidence_pdf(data)
    text = pdf_text(report.pdf)
    assert "FAILED at sequence 48005" in text
    assert "Event 48005 does not hash to the value stored with it." in text
    assert data.checkpoint.signature in text.replace("\n", "")
    assert data.verification.chain_head in text
    for event in data.events:
        assert f"{event.sequence} " in text
    assert "An approval request was signed." in text
