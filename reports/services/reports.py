"""Report jobs: request one, render it on a worker from stored data, download the PDF.

``report_request`` checks who may ask for what, writes the record and ``report.requested`` in one
transaction and queues the render on commit. ``report_render`` (the task body) claims the job, reads
the database into the builder's input, renders the PDF in the fenced render worker (no transaction is
held meanwhile), stores it under its SHA-256 and, in one transaction, marks the job succeeded and
writes ``report.generated`` with the PDF's SHA-256 and the inputs' digest; any failure is recorded on
the job and as ``report.failed``. Claims, leases and the reaper are the job mechanism's (``jobs``).

Who may request: validation, documentation and monitoring reports need ``view`` on the version (its
team, a grant, or a role that reads everything). Audit evidence reports, and anything about a time
range, need ``audit`` (auditors, risk officers, administrators): they reproduce the audit log.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts import access
from audit import record
from jobs import leases
from registry import storage
from registry.models import ModelVersion, RegisteredModel
from reports import dispatch, kinds
from reports.kinds import MODEL_OR_PERIOD, NO_PERIOD, PERIOD_REQUIRED, VERSION, ReportKindSpec
from reports.models import EvidenceBundle, JobStatus, Report, Variant
from reports.rendering.common import RenderedReport
from reports.services import jobs, report_kinds  # noqa: F401  (report_kinds declares the kinds)
from workflow.models import ApprovalRequest
from workflow.services.evidence import approval_of_record

logger = logging.getLogger(__name__)
STORAGE_PREFIX = "reports"
STAGES = 4


def described_approval_id(version: ModelVersion, approval_id: int | None) -> int | None:
    """The approval a report on ``version`` describes: the one named (it must be the version's), else
    the approval of record (latest completed, else pending), else None."""
    if approval_id is None:
        approval = approval_of_record(version)
        return approval.pk if approval is not None else None
    if not ApprovalRequest.objects.filter(pk=approval_id, model_version=version).exists():
        raise ValidationError({"approval": [f"{version} has no approval request #{approval_id}."]})
    return approval_id


def report_request(
    *,
    actor,
    kind: str,
    version: ModelVersion | None = None,
    model: RegisteredModel | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    variant: str = Variant.STANDARD,
    parameters: dict[str, Any] | None = None,
    bundle: EvidenceBundle | None = None,
    requested_by_name: str = "",
    queue: bool = True,
    approval_id: int | None = None,
) -> Report:
    """Record a report request (``report.requested``) and queue its rendering after commit.

    ``actor`` None is the system (a GRC delivery): no permission check. Raises ValidationError for a
    subject that does not fit the kind, PermissionDenied when the actor may not ask for it. A validation
    or documentation report describes one approval's signed evidence: ``approval_id`` (an approval of
    this version) or, by default, the version's approval of record when the request is made; either
    is kept in ``parameters["approval"]`` (None: the version has no approval and the report says so).
    """
    spec = _declared(kind)
    model = version.model if version is not None else model
    if spec.subject == MODEL_OR_PERIOD:
        version = None  # e.g. the audit excerpt covers the whole model: say so on the record
    _check_subject(spec, version, model, period_start, period_end, variant)
    if actor is not None:
        access.require(actor, spec.action, version if spec.subject == VERSION else None)
    parameters = dict(parameters or {})
    if spec.describes_approval:
        parameters["approval"] = described_approval_id(version, approval_id)
    elif approval_id is not None:
        raise ValidationError({"approval": [f"A {kind} report describes no single approval."]})
    with transaction.atomic():
        report = Report.objects.create(
            kind=kind,
            model=model,
            model_version=version,
            period_start=period_start,
            period_end=period_end,
            variant=variant,
            parameters=parameters,
            bundle=bundle,
            requested_by=actor,
            requested_by_name=requested_by_name or jobs.printed_name(actor),
        )
        record(action="report.requested", actor=actor, obj=report, after=_request_facts(report))
        if queue:
            transaction.on_commit(lambda: _queue(report.pk))
    return report


def _queue(report_id: int) -> None:
    dispatch.render_report(report_id)


def _declared(kind: str) -> ReportKindSpec:
    try:
        return kinds.get(kind)
    except KeyError:
        raise ValidationError({"kind": [f"One of {', '.join(kinds.names())}."]}) from None


def _check_subject(spec: ReportKindSpec, version, model, start, end, variant) -> None:
    kind = spec.name
    if variant not in Variant.values:
        raise ValidationError({"variant": [f"One of {', '.join(Variant.values)}."]})
    if variant not in spec.variants:
        offered = [kinds.label(other.name).lower() for other in kinds.declared() if variant in other.variants]
        raise ValidationError({"variant": [f"Only the {' and the '.join(offered)} has a {variant} variant."]})
    required = spec.period == PERIOD_REQUIRED or (spec.subject == MODEL_OR_PERIOD and model is None)
    check_period(start, end, required=required)
    if spec.subject == VERSION and version is None:
        raise ValidationError({"version": [f"A {kind} report is about one model version: name it."]})
    if spec.period == NO_PERIOD and start is not None:
        raise ValidationError(
            {"period_start": [f"A {kind} report covers the version as it is; give no period."]}
        )


def check_period(start: datetime | None, end: datetime | None, *, required: bool) -> None:
    """Both ends or neither (both when ``required``), timezone-aware, start before end."""
    if (start is None) != (end is None):
        raise ValidationError(
            {"period_end" if end is None else "period_start": ["Give both ends of the period."]}
        )
    if start is None:
        if required:
            raise ValidationError({"period_start": ["This report covers a period: give its start and end."]})
        return
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError({"period_start": ["Give times with a time zone (UTC: a trailing Z)."]})
    if start >= end:
        raise ValidationError({"period_end": ["The period must end after it starts."]})


def _request_facts(report: Report) -> dict[str, Any]:
    facts = {
        "kind": report.kind,
        "subject": report.subject_text,
        "variant": report.variant,
        "bundle": report.bundle_id,
    }
    if "approval" in report.parameters:
        facts["approval"] = report.parameters["approval"]
    return facts


# ---------------------------------------------------------------------------------------------- render


def report_render(*, report_id: int) -> Report | None:
    """Render a queued report (the task body); None when another worker has it or it is finished."""
    report = jobs.claim(Report, report_id)
    if report is None:
        return None
    return render_claimed(report)


def render_claimed(report: Report) -> Report:
    """Assemble, render and store a report this worker has claimed; the outcome is audited.

    The lease is renewed while it works; if the claim is taken over meanwhile nothing is written.
    """
    try:
        with jobs.heartbeat(report):
            leases.test_delay()
            jobs.progress(report, "reading the stored results", 1, STAGES)
            data, summary = assemble(report)
            jobs.progress(report, "rendering the PDF", 2, STAGES)
            rendered = build(report, data)
            jobs.progress(report, "storing the PDF", 3, STAGES)
            key, _sha = jobs.store(STORAGE_PREFIX, rendered.pdf, f"{report.document_id}.pdf")
    except leases.ClaimLost:
        logger.warning("report %s was taken over; this worker's render is discarded", report.pk)
        return Report.objects.get(pk=report.pk)
    except Exception as exc:
        logger.exception("report %s failed", report.pk)
        return jobs.fail(report, exc)
    return _succeed(report, rendered, key, summary)


def assemble(report: Report) -> tuple[Any, dict[str, Any]]:
    """The builder's input for ``report`` and the headline facts to keep on the record."""
    return kinds.get(report.kind).assemble(report)


def build(report: Report, data: Any) -> RenderedReport:
    """Call the builder of the report's kind, with the variant when it is not the standard PDF."""
    spec = kinds.get(report.kind)
    if report.variant == Variant.STANDARD:
        return spec.build(data)
    return spec.build(data, variant=report.variant)


def _succeed(report: Report, rendered: RenderedReport, key: str, summary: dict[str, Any]) -> Report:
    with leases.holding(jobs.REPORT, report.pk, report.claim_token) as current:
        if current is None:
            return Report.objects.get(pk=report.pk)  # another worker took the job over; its result stands
        if rendered.refused or rendered.blocked:
            logger.warning("report %s: refused %s, blocked %s", report.pk, rendered.refused, rendered.blocked)
            summary = {**summary, "refused": list(rendered.refused), "blocked": list(rendered.blocked)}
        current.title = rendered.title[:300]
        current.sha256 = rendered.pdf_sha256
        current.size = len(rendered.pdf)
        current.file_key = key
        current.page_count = rendered.page_count
        current.inputs_digest = rendered.inputs_digest
        current.text_digest = rendered.text_digest
        current.summary = summary
        current.progress = {"stage": "done", "current": STAGES, "total": STAGES}
        leases.succeed_locked(jobs.REPORT, current)
        current.save()
        record(
            action="report.generated",
            actor=current.requested_by,
            obj=current,
            after=_generated_facts(current),
        )
    return current


def _generated_facts(report: Report) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "subject": report.subject_text,
        "document_id": report.document_id,
        "pdf_sha256": report.sha256,
        "size": report.size,
        "page_count": report.page_count,
        "inputs_digest": report.inputs_digest,
        "text_digest": report.text_digest,
        "variant": report.variant,
    }


# ---------------------------------------------------------------------------------------------- download


def report_download(*, actor, report: Report) -> File:
    """Open a finished report's PDF after recording who downloaded it (``report.downloaded``).

    Callers fetch ``report`` through the scoped selector, so an invisible report is already a 404.
    """
    if report.status != JobStatus.SUCCEEDED:
        raise jobs.NotReady(f"Report {report.pk} is {report.status}: there is no PDF to download.")
    with transaction.atomic():
        record(
            action="report.downloaded",
            actor=actor,
            obj=report,
            after={"pdf_sha256": report.sha256, "size": report.size},
        )
    return storage.open_blob(report.file_key)
