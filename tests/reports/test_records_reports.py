"""Report records: requested through the API, rendered from stored data by the task body, read back.

The render runs in-process here (``report_render`` is what the ``reports`` queue's task calls); one
test in test_records_worker.py goes through a real worker. Each PDF is rendered once and every
assertion about it is made on that one file.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit import checkpoints
from audit.models import AuditEvent
from monitoring.models import MonitoringAlert, MonitoringPlan
from reports import kinds
from reports.models import Report
from reports.rendering.common import utc_text
from reports.rendering.documentation import build_documentation_pdf
from reports.services import reports as report_services
from tests.monitoring import factories
from tests.reports.conftest import contents_entries, pdf_text, read_pdf
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    approve,
    checked_runs,
    datasets,
    evaluation,
    quick_ready_version,
    quick_version,
    ready_version,
    stored_run,
    tier1_model,
    version,
)

pytestmark = pytest.mark.django_db
REPORTS = reverse("api:report-list")


def request_report(api, user, **body):
    response = api.as_user(user).post(REPORTS, body, format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def download(api, user, report_id: int):
    response = api.as_user(user).get(reverse("api:report-download", args=[report_id]))
    assert response.status_code == 200, response.content[:300]
    return response, b"".join(response.streaming_content)


def generated_event(report: Report) -> AuditEvent:
    return AuditEvent.objects.get(
        action="report.generated", object_type="reports.report", object_id=str(report.pk)
    )


def test_it_renders_the_validation_report_of_a_version_from_its_stored_evidence(
    api, maya, victor, rita, admin_user, ready_version, checked_runs
):
    """GIVEN a tier-1 version with real check runs of every kind, its evidence and a completed
    three-stage approval
    WHEN maya requests its validation report and the task renders it
    THEN the record holds the PDF's SHA-256, which the audit log records too, and the PDF read back has
    its contents, the model, every signer's printed name, UTC time and meaning, and the evidence digest."""
    approval = approve(
        ready_version, maya, [(victor, "review"), (rita, "approval"), (admin_user, "responsibility")]
    )
    body = request_report(api, maya, kind="validation", model="credit-scoring", version=1)
    assert body["status"] == "queued"
    assert body["subject"]["model"] == "credit-scoring"
    assert body["subject"]["version"] == 1
    assert AuditEvent.objects.filter(action="report.requested", object_id=str(body["id"])).exists()

    report = report_services.report_render(report_id=body["id"])
    assert report.status == "succeeded", report.error
    assert report_services.report_render(report_id=body["id"]) is None  # a redelivered task does nothing

    response, pdf = download(api, maya, report.pk)
    assert hashlib.sha256(pdf).hexdigest() == report.sha256 == response["X-Checksum-SHA256"]
    assert response["Content-Type"] == "application/pdf"
    event = generated_event(report)
    assert event.after["pdf_sha256"] == report.sha256
    assert event.after["inputs_digest"] == report.inputs_digest
    assert AuditEvent.objects.filter(action="report.downloaded", object_id=str(report.pk)).count() == 1

    reader = read_pdf(pdf)
    assert len(reader.pages) == report.page_count > 5
    assert reader.metadata["/attestinputssha256"] == report.inputs_digest
    assert reader.metadata["/attestdocumentid"] == report.document_id
    text = pdf_text(pdf)
    entries = contents_entries(text)
    for title in (
        "Executive summary",
        "Outcomes analysis",
        "Fairness",
        "Approvals",
        "Evidence index",
        "Control coverage",
    ):
        assert title in entries, title
    assert "Validation report: credit-scoring v1" in text.split("\f")[0]
    assert report.summary["evidence_digest"] == approval.evidence_digest
    assert approval.evidence_digest in "".join(text.split())  # long digests wrap in table cells
    approvals_section = text[text.index("Stage Printed name Meaning") :]
    for signature in approval.signatures.all():
        row = next(line for line in approvals_section.splitlines() if signature.printed_name in line)
        assert signature.meaning in row
        assert utc_text(signature.signed_at) in row
    assert "DIFFERENT" not in text  # every signature signed the evidence digest the report shows
    assert report.summary["signatures"] == 3
    # the real numbers reached the PDF: AUC from the performance run, a figure per chart
    auc = checked_runs["performance"].results["metrics"]["performance"]["roc_auc"]
    assert f"{auc:.4g}" in text


def test_it_renders_documentation_monitoring_and_audit_evidence_reports(
    api, maya, aaron, credit_risk, quick_ready_version, settings
):
    """GIVEN a version with recorded runs, a monitoring plan's runs and an alert, and a signed checkpoint
    WHEN its Annex IV documentation, a monitoring report for the period and the model's audit
    evidence report are generated
    THEN the documentation lists what is missing, the monitoring report charts each metric with its
    values and the alert, and the audit report prints the events, the verifier's verdict and the
    checkpoint."""
    version = quick_ready_version
    start = timezone.now() - timedelta(hours=1)
    plan = MonitoringPlan.objects.create(
        model_version=version,
        dataset=factories.make_dataset(maya, credit_risk, name="production-batches"),
        checks=[{"kind": "drift", "config": {}}],
        interval_seconds=3600,
        created_by=maya,
    )
    psi = [0.04, 0.31]
    runs = [
        stored_run(
            version,
            "drift",
            [evaluation("psi", "column 'income'", value, 0.25, "pass" if value < 0.25 else "fail")],
            plan=plan,
        )
        for value in psi
    ]
    MonitoringAlert.objects.create(
        plan=plan,
        check_run=runs[-1],
        metric="psi (income)",
        value=0.31,
        threshold=0.25,
        severity="critical",
        message="PSI 0.31",
    )
    checkpoint = checkpoints.create(actor=None, force=True)
    end = timezone.now() + timedelta(minutes=1)

    documentation = request_report(api, maya, kind="documentation", model="credit-scoring", version=1)
    monitoring = request_report(
        api,
        maya,
        kind="monitoring",
        model="credit-scoring",
        version=1,
        period_start=start.isoformat(),
        period_end=end.isoformat(),
    )
    audit = request_report(api, aaron, kind="audit_evidence", model="credit-scoring")

    documentation = report_services.report_render(report_id=documentation["id"])
    assert documentation.status == "succeeded", documentation.error
    text = read_back(documentation, "What is still missing", "9. Post-market monitoring")
    assert {"1b", "2e", "8"} <= set(documentation.summary["missing"])
    assert f"{documentation.summary['supplied']} of {documentation.summary['items']} items supplied" in text
    assert "Score applications" in text  # the model's purpose answers 1(a)

    monitoring = report_services.report_render(report_id=monitoring["id"])
    assert monitoring.status == "succeeded", monitoring.error
    assert monitoring.summary == {
        "series": 1,
        "values": 2,
        "breaches": 1,
        "warnings": 0,
        "failures": 1,
        "alerts": 1,
    }
    text = read_back(monitoring, "Summary", "Metrics over time", "Alerts", "Findings")
    assert "population stability index (column 'income')" in text
    assert "0.31" in text
    assert "critical" in text

    audit = report_services.report_render(report_id=audit["id"])
    assert audit.status == "succeeded", audit.error
    assert audit.summary["intact"] is True
    assert audit.summary["checkpoint"] == checkpoint.number
    text = read_back(audit, "Verification", "Latest signed checkpoint", "Events")
    flat = "".join(text.split())
    assert "Audit evidence: model credit-scoring" in text
    assert "verified:" in text
    assert checkpoint.chain_head in flat
    assert checkpoint.signature in flat
    for action in ("model.created", "model_version.submitted", "report.requested"):
        assert action in text


def read_back(report: Report, *headings: str) -> str:
    """The stored PDF's text, after checking its page count, its contents and its model."""
    pdf = _stored_pdf(report)
    assert len(read_pdf(pdf).pages) == report.page_count
    text = pdf_text(pdf)
    entries = contents_entries(text)
    for heading in headings:
        assert heading in entries, (report.kind, heading, entries)
    assert "credit-scoring" in text.split("\f")[0]
    return text


def _stored_pdf(report: Report) -> bytes:
    from registry import storage

    with storage.open_blob(report.file_key) as handle:
        return handle.read()


def test_it_re_renders_the_same_inputs_to_the_same_text(maya, quick_ready_version):
    """GIVEN a generated Annex IV report
    WHEN its inputs are read again from the unchanged database and rendered again
    THEN the inputs' digest and the text (the HTML laid out) are the ones on the record."""
    report = report_services.report_request(actor=maya, kind="documentation", version=quick_ready_version)
    report = report_services.report_render(report_id=report.pk)
    assert report.status == "succeeded", report.error
    data, _summary = report_services.assemble(report)
    again = build_documentation_pdf(data)
    assert again.inputs_digest == report.inputs_digest
    assert again.text_digest == report.text_digest
    assert pdf_text(again.pdf) == pdf_text(_stored_pdf(report))


def test_it_records_a_failed_render_with_its_error(maya, quick_ready_version, monkeypatch):
    """GIVEN a report whose builder fails
    WHEN the task renders it
    THEN the job is failed with the error, audited as report.failed, and has nothing to download."""
    report = report_services.report_request(actor=maya, kind="documentation", version=quick_ready_version)

    def broken(data):
        raise RuntimeError("the render worker exited with status -9")

    monkeypatch.setitem(kinds.KINDS, "documentation", replace(kinds.get("documentation"), build=broken))
    report = report_services.report_render(report_id=report.pk)
    assert report.status == "failed"
    assert "exited with status -9" in report.error
    event = AuditEvent.objects.get(action="report.failed", object_id=str(report.pk))
    assert "exited with status -9" in event.after["error"]


def test_it_refuses_subjects_that_do_not_fit_the_kind(api, maya, aaron, quick_version):
    """GIVEN various report requests
    WHEN the subject does not fit the kind
    THEN 400 names the field at fault and nothing is recorded."""
    cases = [
        (maya, {"kind": "validation", "model": "credit-scoring"}, "version"),
        (maya, {"kind": "monitoring", "model": "credit-scoring", "version": 1}, "period_start"),
        (
            maya,
            {"kind": "documentation", "model": "credit-scoring", "version": 1, "variant": "pdf/a-3b"},
            "variant",
        ),
        (
            aaron,
            {
                "kind": "audit_evidence",
                "period_start": "2025-03-02T00:00:00Z",
                "period_end": "2025-03-01T00:00:00Z",
            },
            "period_end",
        ),
        (aaron, {"kind": "audit_evidence", "period_start": "2025-03-02T00:00:00Z"}, "period_end"),
    ]
    for user, body, field in cases:
        response = api.as_user(user).post(REPORTS, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json()["error"]["fields"], (body, response.json())
    assert not Report.objects.exists()
