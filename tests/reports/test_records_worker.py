"""A report requested through the API and rendered by a real Celery worker on the ``reports`` queue.

One test: the worker takes a few seconds to start and the render a few more.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reports.models import FINISHED, Report
from tests.conftest import wait_for
from tests.reports.conftest import contents_entries, pdf_text, read_pdf
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    approve,
    quick_ready_version,
    quick_version,
    tier1_model,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_generates_a_report_on_a_real_worker(celery_worker, api, maya, victor, quick_ready_version):
    """GIVEN a version with recorded runs, evidence and a first signature
    WHEN maya asks for its validation report over the API and polls the job
    THEN a worker renders it: the job succeeds with its SHA-256 in the audit log, and the PDF downloaded
    has the contents, the model and the signer's printed name and meaning."""
    request = approve(quick_ready_version, maya, [(victor, "review")])
    response = api.as_user(maya).post(
        reverse("api:report-list"),
        {"kind": "validation", "model": "credit-scoring", "version": 1},
        format="json",
    )
    assert response.status_code == 202, response.json()
    job_url = response["Location"]

    def finished():
        body = api.as_user(maya).get(job_url).json()
        return body if body["status"] in FINISHED else None

    body = wait_for(finished, timeout=180, interval=0.5, message="the report to be rendered")
    assert body["status"] == "succeeded", body["error"]
    assert body["progress"]["percent"] == 100.0
    report = Report.objects.get(pk=body["id"])
    event = AuditEvent.objects.get(action="report.generated", object_id=str(report.pk))
    assert event.auth_method == "task"
    assert event.after["pdf_sha256"] == body["sha256"]

    download = api.as_user(maya).get(body["download_url"])
    pdf = b"".join(download.streaming_content)
    assert hashlib.sha256(pdf).hexdigest() == body["sha256"]
    assert len(read_pdf(pdf).pages) == body["page_count"]
    text = pdf_text(pdf)
    assert "Approvals" in contents_entries(text)
    assert "credit-scoring v1" in text
    [signature] = request.signatures.all()
    row = next(line for line in text.splitlines() if signature.printed_name in line and "review" in line)
    assert "approve" in row
