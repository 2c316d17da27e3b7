"""The validation document's two exports, read back: the PDF (the validation report's section) and the DOCX
say the same things with the same numbers, because both are rendered from one content structure."""

# ruff: noqa: F811  (fixtures imported from tests/workflow/conftest.py are used as arguments)

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace

import docx
import pytest
import rfc8785
from django.urls import reverse
from django.utils import timezone

from monitoring.models import CheckRun
from reports.rendering.validation import build_validation_pdf
from reports.services.assemble.validation_document import authored_document
from tests.reports import samples
from tests.reports.conftest import contents_entries, pdf_text
from tests.workflow.conftest import quick_version, tier1_model  # noqa: F401 (fixtures)
from tests.workflow.helpers import events
from tests.workflow.test_validation_documents import COMPLETE, document_url

pytestmark = pytest.mark.django_db


def docx_text(data: bytes) -> tuple[list[str], str]:
    """(heading texts, every paragraph and table cell joined by newlines)."""
    document = docx.Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return headings, "\n".join([p.text for p in document.paragraphs] + cells)


def performance_run(actor, version) -> CheckRun:
    """A finished performance run with one judged number, stored as a worker leaves it."""
    run = CheckRun(
        kind="performance", model_version=version, artifact_sha256=version.artifact_sha256, requested_by=actor
    )
    run.results = {"recorded": "performance"}
    run.result_sha256 = hashlib.sha256(rfc8785.dumps(run.results)).hexdigest()
    run.evaluations = [
        {"metric": "roc_auc", "value": 0.812345, "threshold": 0.7, "status": "pass", "direction": "higher"}
    ]
    run.status, run.outcome = "succeeded", "pass"
    run.started_at = run.finished_at = timezone.now()
    run.save()
    return run


def test_the_docx_and_the_pdf_show_the_same_sections_rating_conditions_and_numbers(
    api, client, maya, victor, quick_version
):
    version = quick_version
    performance = performance_run(maya, version)
    body = COMPLETE | {"check_notes": {str(performance.pk): {"commentary": "Checked the folds by hand."}}}
    written = api.as_user(victor).patch(document_url(version), body, format="json")
    assert written.status_code == 200, written.content

    content = authored_document(version)
    client.force_login(victor)
    response = client.get(reverse("validation-document-docx", args=[version.model.name, version.version]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert events("validation_document.exported")[-1].after["revision"] == 1
    headings, word = docx_text(response.content)
    # The report around the section is the sample's without its charts (they cost seconds and are not tested here).
    bare = replace(
        samples.validation_input(),
        **dict.fromkeys(("performance", "explainability", "stability"), None),
        **dict.fromkeys(("fairness", "datasets", "controls", "evidence", "conceptual_soundness"), ()),
    )
    pdf = build_validation_pdf(replace(bare, authored=content)).pdf
    text = pdf_text(pdf)
    assessment = text[text.index("Validator's assessment\n") :]  # the section itself, not the contents

    titles = [section.title for section in content.sections]
    assert titles == [s["title"] for s in written.json()["sections"]]
    assert [h for h in headings if h in titles] == titles
    for title in titles:
        assert title in assessment
    assert "Validator's assessment" in contents_entries(text)
    same = [
        "Satisfactory with conditions",
        "Add a challenger model",
        "2027-03-31",
        "0.8123",  # ROC AUC from the live block (4 significant digits, both)
        ">= 0.7",
        f"Check run {performance.pk} (performance",
        "Checked the folds by hand.",
        "Asked for a challenger.",
        "fit for retail credit",
        "Stable across folds.",
    ]
    for phrase in same:
        assert phrase in word, phrase
        assert phrase in assessment, phrase
    digest = written.json()["content_sha256"]
    assert digest in word
    assert digest in re.sub(r"\s", "", assessment)
    # Sections written nowhere are said to be so in both.
    assert word.count("Not written.") == assessment.count("Not written.") == 3
