"""Documents read like documents (issue 11, item 7), checked on the PDFs read back and on the pages.

Markdown evidence is rendered (sanitised) in the PDFs and on the evidence page; no word is broken inside
a table cell; no page is left nearly empty; the PDFs are tagged; fairness groups too small to judge are
shown as "not judged" in the charts and tables of both the report and the run page.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import rfc8785
from django.urls import reverse
from django.utils import timezone

from monitoring.checks import fairness as fairness_check
from monitoring.metrics.fairness import fairness_report
from monitoring.models import CheckRun
from registry import storage
from reports.rendering.common import number
from reports.rendering.documentation import build_documentation_pdf
from reports.rendering.inputs import EvidenceItem
from reports.rendering.validation import Statement, build_validation_pdf
from reports.services import reports as report_services
from reports.services.assemble.documentation import answers
from reports.services.assemble.validation import fairness_evidence, soundness_statements
from tests.reports import samples
from tests.reports.conftest import outline_titles, pdf_text, read_pdf
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    quick_version,
    tier1_model,
)
from workflow import markdown
from workflow.models import EvidenceDocument
from workflow.services import evidence as evidence_services

# A page holds its running header and footer (about 110 characters) plus at least four lines of
# content (about 95 characters each). The near-empty pages this replaces held a section heading, an
# item heading, its requirement and one "Missing" line: 272 to 563 characters, most under 400.
MIN_PAGE_CHARACTERS = 500

MEMO = """# Conceptual soundness memo

## Approach

Gradient boosting was chosen over **logistic regression** for its validation ROC AUC.

- Monotone in `duration`
- Reviewed against partial-dependence plots
"""
HOSTILE = """# Memo

<script>alert('x')</script>

[click me](javascript:alert(1)) or read [the policy](https://example.org/policy).
"""
FIRST_LINE = "Gradient boosting was chosen over logistic regression"
PLAIN = "Line one of the review\n# not a heading\n1. not a list *not emphasis*\n\nSecond paragraph"


def struct_roles(pdf: bytes) -> Counter:
    """How often each structure type (``/H1``, ``/P``, ``/Table``…) occurs in the tagged PDF."""
    roles: Counter = Counter()
    pending = [read_pdf(pdf).trailer["/Root"]["/StructTreeRoot"].get_object().get("/K")]
    while pending:
        node = pending.pop()
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            pending.extend(node)
        elif hasattr(node, "get"):
            if node.get("/S"):
                roles[str(node["/S"])] += 1
            if node.get("/K") is not None:
                pending.append(node["/K"])
    return roles


def link_targets(pdf: bytes) -> list[str]:
    """The URI of every link annotation in the PDF."""
    targets = []
    for page in read_pdf(pdf).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                targets.append(str(action["/URI"]))
    return targets


def short_pages(pdf: bytes) -> dict[int, int]:
    """``{page number: characters}`` of the pages below the minimum, the cover and the last page aside."""
    pages = [len(page.extract_text()) for page in read_pdf(pdf).pages]
    return {number: count for number, count in enumerate(pages[1:-1], 2) if count < MIN_PAGE_CHARACTERS}


@pytest.fixture(scope="module")
def memos_report():
    """One validation report holding the Markdown memo, the hostile memo and a plain-text statement
    (rendered once: a report takes seconds)."""
    statements = [
        Statement(title="Conceptual soundness memo (v2)", text=MEMO, reference="memo.md"),
        Statement(title="Hostile memo", text=HOSTILE, reference="hostile.md"),
        Statement(title="Plain review", text=markdown.literal(PLAIN), reference="review.txt"),
    ]
    return build_validation_pdf(replace(samples.validation_input(), conceptual_soundness=statements))


@pytest.fixture(scope="module")
def sample_validation_report():
    return build_validation_pdf(samples.validation_input())


@pytest.fixture(scope="module")
def sample_documentation_report():
    return build_documentation_pdf(samples.documentation_input())


# --- Markdown, sanitised ---------------------------------------------------------------------------


def test_it_renders_markdown_with_its_headings_below_the_pages_headings():
    html = markdown.to_html(MEMO, top_heading=3)

    assert "<h3>Conceptual soundness memo</h3>" in html
    assert "<h4>Approach</h4>" in html
    assert "<strong>logistic regression</strong>" in html
    assert "<li>Monotone in <code>duration</code></li>" in html


def test_it_strips_scripts_and_javascript_links_from_a_memo():
    html = markdown.to_html(HOSTILE)

    assert "<script" not in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.org/policy" rel="noopener noreferrer nofollow">the policy</a>' in html


def test_the_sanitiser_drops_what_a_parser_might_let_through():
    html = markdown.sanitise(
        '<p onclick="x()">hi<script>alert(1)</script><a href="javascript:alert(2)">a</a>'
        '<img src="https://example.org/x.png" onerror="alert(3)"><iframe src="https://e.org"></iframe></p>'
    )

    assert html == '<p>hi<a rel="noopener noreferrer nofollow">a</a></p>'


def test_plain_text_is_quoted_to_print_as_typed_with_its_line_breaks():
    html = markdown.to_html(markdown.literal(PLAIN))

    assert html == (
        "<p>Line one of the review<br>\n# not a heading<br>\n1. not a list *not emphasis*</p>\n"
        "<p>Second paragraph</p>"
    )


def test_a_markdown_memo_prints_as_a_heading_and_paragraphs_in_the_validation_report(memos_report):
    report = memos_report
    text = pdf_text(report.pdf)

    assert f"Conceptual soundness memo\nApproach\n{FIRST_LINE}" in text
    # no Markdown marker of the memo is printed (the plain review's "# not a heading" is meant literally)
    assert not re.search(r"^#+ (?!not a heading)", text, re.MULTILINE)
    assert "**" not in text
    assert "• Monotone in duration" in text or "Monotone in duration" in text
    titles = outline_titles(report.pdf)
    assert "Conceptual soundness" in titles
    assert "Approach" not in titles  # a memo's headings are not bookmarks
    roles = struct_roles(report.pdf)
    assert roles["/H3"] >= 1
    assert roles["/H4"] >= 1


def test_a_hostile_memo_prints_no_script_and_links_nowhere_but_the_web(memos_report):
    report = memos_report

    assert link_targets(report.pdf).count("https://example.org/policy") == 1
    assert not [uri for uri in link_targets(report.pdf) if "javascript" in uri.lower()]
    assert b"/JavaScript" not in report.pdf
    assert b"/JS" not in report.pdf


def test_a_plain_text_statement_keeps_its_line_breaks_in_the_pdf(memos_report):
    text = pdf_text(memos_report.pdf)

    assert "Line one of the review\n# not a heading\n1. not a list *not emphasis*\nSecond paragraph" in text


# --- layout ------------------------------------------------------------------------------------------


def test_it_keeps_long_words_whole_in_narrow_table_columns():
    """GIVEN evidence whose kind is a long identifier (the 12 % column used to print "conceptual_s /
    oundness_m / emo") and a control with a long framework key
    WHEN the validation report is rendered
    THEN each word is extracted whole, on one line"""
    data = samples.validation_input()
    evidence = [
        EvidenceItem(
            name="Conceptual soundness memo",
            kind="conceptual_soundness_memo",
            sha256="7d4bf88d19274f2b82db7c6a2780b24ee25056c1d4856e70a332f2e9bf94ec1b",
            uri="/api/v1/evidence/1/",
            size=416,
        ),
        *data.evidence,
    ]
    controls = [replace(control, framework="Internationalisation") for control in data.controls]
    text = pdf_text(build_validation_pdf(replace(data, evidence=evidence, controls=controls)).pdf)

    assert "conceptual_soundness_memo" in text
    assert text.count("Internationalisation") == len(controls)


def test_no_page_of_the_annex_iv_document_is_nearly_empty(sample_documentation_report):
    """GIVEN an Annex IV input with twelve items missing (each used to fill a page of its own)
    THEN every page but the cover and the last holds at least MIN_PAGE_CHARACTERS characters"""
    complete = build_documentation_pdf(samples.documentation_input(complete=True))
    for report in (sample_documentation_report, complete):
        assert short_pages(report.pdf) == {}, report.page_count


def test_no_page_of_the_validation_report_is_nearly_empty(sample_validation_report):
    assert short_pages(sample_validation_report.pdf) == {}


# --- tagged PDFs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [None, "pdf/a-3b"])
def test_the_validation_report_is_a_tagged_pdf(variant, sample_validation_report):
    report = sample_validation_report
    if variant:
        report = build_validation_pdf(samples.validation_input(), variant=variant)
    catalog = read_pdf(report.pdf).trailer["/Root"]

    assert catalog["/MarkInfo"]["/Marked"].value is True
    assert "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == "en"
    roles = struct_roles(report.pdf)
    assert roles["/H1"] >= 12
    assert roles["/Table"] >= 5
    assert roles["/Figure"] >= 5
    if variant:
        xmp = catalog["/Metadata"].get_object().get_data()
        assert b'pdfaid:part="3"' in xmp
        assert b'pdfaid:conformance="B"' in xmp


def test_the_annex_iv_document_is_a_tagged_pdf(sample_documentation_report):
    report = sample_documentation_report
    catalog = read_pdf(report.pdf).trailer["/Root"]

    assert catalog["/MarkInfo"]["/Marked"].value is True
    assert "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == "en"


# --- small fairness groups ---------------------------------------------------------------------------


def fairness_results(min_group_size: int = 30) -> dict:
    """What the fairness check stores for three groups, the smallest (12 rows) far below the others."""
    sizes = {"large": 200, "medium": 100, "tiny": 12}
    positives = {"large": 120, "medium": 55, "tiny": 1}
    groups, predicted = [], []
    for name, size in sizes.items():
        groups += [name] * size
        predicted += [1] * positives[name] + [0] * (size - positives[name])
    truth = np.array(predicted[::-1])
    report = fairness_report(
        truth, np.array(predicted), {"segment": groups}, pos_label=1, min_group_size=min_group_size
    )
    metrics = {"fairness": report, "predictions": {"source": "column"}}
    return {"kind": "fairness", "metrics": metrics, "charts": fairness_check.charts(metrics)}


def fairness_run(version=None) -> CheckRun:
    results = fairness_results()
    run = CheckRun(kind="fairness", model_version=version, status="succeeded", outcome="pass")
    if version is not None:
        run.artifact_sha256 = version.artifact_sha256
    run.results = results
    run.result_sha256 = hashlib.sha256(rfc8785.dumps(results)).hexdigest()
    run.thresholds = {"demographic_parity_ratio_min": {"value": 0.8, "source": "test", "binding": True}}
    run.evaluations = []
    run.started_at = run.finished_at = timezone.now()
    return run


def test_a_small_group_is_reported_as_not_judged_in_the_pdf():
    """GIVEN a fairness run whose 12-row group has a disparate impact far below 0.8 but is below
    min_group_size 30, so the check did not judge it
    THEN the report's table and chart show it as not judged, never as failing"""
    evidence = fairness_evidence(fairness_run())
    assert evidence[0].not_judged == ["tiny"]
    assert evidence[0].groups["tiny"] < 0.8
    data = replace(samples.validation_input(), fairness=evidence)

    text = " ".join(pdf_text(build_validation_pdf(data).pdf).split())

    assert f"tiny {number(evidence[0].groups['tiny'])} 12 not judged: 12 rows < min_group_size 30" in text
    assert "not judged (n = 12 < 30)" in text  # the chart's label, next to the grey hatched bar
    assert "Grey hatched bars: groups of fewer than 30 rows, shown but not judged." in text
    assert "large 1 200 yes" in text


@pytest.mark.django_db
def test_a_small_group_is_drawn_and_listed_as_not_judged_on_the_run_page(client, maya, quick_version):
    run = fairness_run(quick_version)
    run.save()
    client.force_login(maya)

    body = " ".join(client.get(reverse("check-detail", args=[run.pk])).content.decode().split())

    assert '<svg role="img" aria-label="Selection rate by segment"' in body
    assert "not judged (n = 12 &lt; 30)" in body  # the grey bar's label inside the chart
    assert "not judged: 12 rows &lt; min_group_size 30" in body  # the table's Judged cell
    assert "below 0.8" not in body
    assert "Grey hatched bars: groups with fewer than 30 rows, shown but not judged." in body


# --- evidence stored and rendered ------------------------------------------------------------------


def add_document(actor, version, name: str, content: bytes, kind: str = "conceptual_soundness_memo"):
    upload = storage.upload_from_file(io.BytesIO(content), name)
    return evidence_services.evidence_add(
        actor=actor, version=version, evidence_type=kind, title=f"Memo {name}", upload=upload
    )


@pytest.mark.django_db
def test_stored_documents_become_markdown_source_for_the_reports(maya, quick_version):
    memo = add_document(maya, quick_version, "memo.md", MEMO.encode())
    review = add_document(maya, quick_version, "review.txt", PLAIN.encode())

    statements = soundness_statements(quick_version, [memo, review])

    assert [s.text for s in statements[-2:]] == [MEMO.strip(), markdown.literal(PLAIN)]
    heading = f"# Memo memo.md (SHA-256 {memo.sha256})\n\n# Conceptual soundness memo\n\n## Approach"
    assert heading in answers(quick_version)["2b"]


@pytest.mark.django_db
def test_the_annex_iv_document_prints_a_markdown_memo_as_headings_and_text(maya, quick_version):
    add_document(maya, quick_version, "memo.md", MEMO.encode())
    report = report_services.report_request(
        actor=maya, kind="documentation", version=quick_version, queue=False
    )

    report = report_services.report_render(report_id=report.pk)

    assert report.status == "succeeded", report.error
    with storage.open_blob(report.file_key) as handle:
        pdf = handle.read()
    text = pdf_text(pdf)
    assert f"Conceptual soundness memo\nApproach\n{FIRST_LINE}" in text
    # no Markdown marker of the memo is printed (the plain review's "# not a heading" is meant literally)
    assert not re.search(r"^#+ (?!not a heading)", text, re.MULTILINE)
    assert struct_roles(pdf)["/H3"] >= 2  # the memo's title line and its own first heading
    assert short_pages(pdf) == {}


# --- the evidence page -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_evidence_page_previews_a_markdown_memo_sanitised(client, maya, quick_version):
    document = add_document(maya, quick_version, "memo.md", (MEMO + "\n" + HOSTILE).encode())
    client.force_login(maya)

    body = client.get(reverse("evidence-detail", args=[document.pk])).content.decode()
    version_page = client.get(
        reverse("model-version-detail", args=[quick_version.model.name, quick_version.version])
    ).content.decode()

    assert "<h3>Conceptual soundness memo</h3>" in body
    assert "<h4>Approach</h4>" in body
    assert "<script>alert" not in body
    assert 'href="javascript' not in body
    assert document.sha256 in body
    assert reverse("api:evidence-download", args=[document.pk]) in body
    assert reverse("evidence-detail", args=[document.pk]) in version_page


@pytest.mark.django_db
def test_the_evidence_page_shows_a_text_document_as_typed(client, maya, quick_version):
    document = add_document(maya, quick_version, "review.txt", PLAIN.encode())
    client.force_login(maya)

    body = client.get(reverse("evidence-detail", args=[document.pk])).content.decode()

    assert "Line one of the review<br>\n# not a heading<br>\n1. not a list *not emphasis*" in body


@pytest.mark.django_db
def test_the_evidence_page_offers_no_preview_of_a_binary_document(client, maya, quick_version):
    document = add_document(maya, quick_version, "memo.pdf", b"%PDF-1.7\n\x00\xff\xfe binary")
    client.force_login(maya)

    body = client.get(reverse("evidence-detail", args=[document.pk])).content.decode()

    assert "No preview: only text documents" in body


@pytest.mark.django_db
def test_the_evidence_page_is_a_404_for_the_outsider(client, maya, olga, quick_version):
    document = add_document(maya, quick_version, "memo.md", MEMO.encode())
    client.force_login(olga)

    response = client.get(reverse("evidence-detail", args=[document.pk]))

    assert response.status_code == 404
    assert EvidenceDocument.objects.filter(pk=document.pk).exists()
