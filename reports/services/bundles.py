"""Evidence bundle jobs: request one, build the BagIt zip on a worker, download it.

A bundle for a model version holds its validation report, its Annex IV documentation and the audit
evidence report of its model; a bundle for a time range holds the audit evidence report of the range.
Each PDF is a Report record of its own (``bundle`` set), rendered in the bundle's task and audited with
its hash like any other report. Then come the check results, approvals and signatures, the audit
excerpt with a fresh verification and the latest signed checkpoint, OSCAL assessment results and the
audit public keys; ``manifest-sha256.txt`` lists every file. ``bundle.generated`` records the zip's
SHA-256 in the transaction that finishes the job.

Only auditors, risk officers and administrators may request or see bundles: they reproduce audit log
entries (actor names, client addresses) that the audit API shows to those roles only.
"""

from __future__ import annotations

import io
import logging
import zipfile
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction

from accounts import access
from audit import record
from jobs import leases
from registry import storage
from registry.models import ModelVersion
from reports import dispatch, kinds
from reports.evidence.bundle import build_evidence_bundle
from reports.models import EvidenceBundle, JobStatus, Report, ReportKind
from reports.services import jobs
from reports.services.assemble import audit as audit_data
from reports.services.assemble import evidence
from reports.services.reports import check_period, render_claimed, report_request

logger = logging.getLogger(__name__)
STORAGE_PREFIX = "bundles"
VERSION_REPORTS = (
    (ReportKind.VALIDATION, "validation-report.pdf"),
    (ReportKind.DOCUMENTATION, "model-documentation.pdf"),
    (ReportKind.AUDIT_EVIDENCE, "audit-evidence.pdf"),
)
RANGE_REPORTS = ((ReportKind.AUDIT_EVIDENCE, "audit-evidence.pdf"),)


class BundleError(RuntimeError):
    """A part of the bundle could not be made (the message says which)."""


def bundle_request(
    *,
    actor,
    version: ModelVersion | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    requested_by_name: str = "",
    queue: bool = True,
) -> EvidenceBundle:
    """Record a bundle request (``bundle.requested``) and queue its build after commit.

    For a version or for a period, not both. ``actor`` None is the system (a GRC delivery).
    """
    check_period(period_start, period_end, required=version is None)
    if version is not None and period_start is not None:
        raise ValidationError(
            {"period_start": ["A bundle is for a model version or for a period, not both."]}
        )
    if actor is not None:
        access.require(actor, "audit")
    with transaction.atomic():
        bundle = EvidenceBundle.objects.create(
            model=version.model if version is not None else None,
            model_version=version,
            period_start=period_start,
            period_end=period_end,
            requested_by=actor,
            requested_by_name=requested_by_name or jobs.printed_name(actor),
        )
        bundle.bag_name = bag_name(bundle)
        bundle.save(update_fields=["bag_name"])
        record(
            action="bundle.requested",
            actor=actor,
            obj=bundle,
            after={"subject": bundle.subject_text, "bag": bundle.bag_name},
        )
        if queue:
            transaction.on_commit(lambda: _queue(bundle.pk))
    return bundle


def bag_name(bundle: EvidenceBundle) -> str:
    """``evidence-credit-scoring-v3-12`` or ``evidence-20250301-20250401-12`` (a safe BagIt name)."""
    if bundle.model_version_id is not None:
        version = bundle.model_version
        return f"evidence-{version.model.name}-v{version.version}-{bundle.pk}"
    return f"evidence-{bundle.period_start:%Y%m%d}-{bundle.period_end:%Y%m%d}-{bundle.pk}"


def _queue(bundle_id: int) -> None:
    dispatch.build_bundle(bundle_id)


# ---------------------------------------------------------------------------------------------- build


def bundle_build(*, bundle_id: int) -> EvidenceBundle | None:
    """Build a queued bundle (the task body); None when another worker has it or it is finished."""
    bundle = jobs.claim(EvidenceBundle, bundle_id)
    if bundle is None:
        return None
    return build_claimed(bundle)


def build_claimed(bundle: EvidenceBundle) -> EvidenceBundle:
    """Render the PDFs, gather the rest and write the bag for a bundle this worker has claimed."""
    parts = VERSION_REPORTS if bundle.model_version_id is not None else RANGE_REPORTS
    total = len(parts) + 2
    try:
        with jobs.heartbeat(bundle):
            leases.test_delay()
            pdfs = []
            for index, (kind, filename) in enumerate(parts, start=1):
                jobs.progress(bundle, f"rendering the {kinds.label(kind).lower()}", index, total)
                pdfs.append((filename, _report_pdf(bundle, kind)))
            jobs.progress(bundle, "collecting results, approvals and the audit excerpt", total - 1, total)
            excerpt = audit_data.audit_excerpt(
                model=bundle.model, start=bundle.period_start, end=bundle.period_end
            )
            data = evidence.bundle_input(bundle, pdfs, excerpt)
            jobs.progress(bundle, "writing the bag", total, total)
            content = build_evidence_bundle(data)
            key, sha256 = jobs.store(STORAGE_PREFIX, content, f"{bundle.bag_name}.zip")
    except leases.ClaimLost:
        logger.warning("evidence bundle %s was taken over; this worker's build is discarded", bundle.pk)
        return EvidenceBundle.objects.get(pk=bundle.pk)
    except Exception as exc:
        logger.exception("evidence bundle %s failed", bundle.pk)
        return jobs.fail(bundle, exc)
    facts = {
        "files": manifest_files(content, bundle.bag_name),
        "contents": evidence.contents_summary(data, excerpt),
    }
    return _succeed(bundle, key, sha256, len(content), facts)


def _report_pdf(bundle: EvidenceBundle, kind: str) -> bytes:
    """The bundle's report of ``kind``: rendered now, or reused when an earlier attempt made it."""
    report = bundle.reports.filter(kind=kind, status=JobStatus.SUCCEEDED).first()
    if report is None:
        version = bundle.model_version if kind != ReportKind.AUDIT_EVIDENCE else None
        requested = report_request(
            actor=bundle.requested_by,
            kind=kind,
            version=version,
            model=bundle.model,
            period_start=bundle.period_start,
            period_end=bundle.period_end,
            bundle=bundle,
            requested_by_name=bundle.requested_by_name,
            queue=False,
        )
        report = render_claimed(jobs.claim(Report, requested.pk))
        if report.status != JobStatus.SUCCEEDED:
            raise BundleError(f"the {kinds.label(kind).lower()} (report {report.pk}) failed: {report.error}")
    with storage.open_blob(report.file_key) as handle:
        return handle.read()


def manifest_files(content: bytes, name: str) -> list[dict[str, Any]]:
    """Each payload file as ``manifest-sha256.txt`` lists it, with its size."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        manifest = archive.read(f"{name}/manifest-sha256.txt").decode("utf-8")
    files = []
    for line in manifest.splitlines():
        digest, path = line.split("  ", 1)
        files.append({"path": path, "sha256": digest, "size": sizes[f"{name}/{path}"]})
    return files


def _succeed(
    bundle: EvidenceBundle, key: str, sha256: str, size: int, facts: dict[str, Any]
) -> EvidenceBundle:
    with leases.holding(jobs.BUNDLE, bundle.pk, bundle.claim_token) as current:
        if current is None:
            return EvidenceBundle.objects.get(pk=bundle.pk)  # taken over; the other worker's result stands
        current.file_key, current.sha256, current.size = key, sha256, size
        current.files = facts["files"]
        current.contents = facts["contents"]
        current.progress = {
            "stage": "done",
            "current": bundle.progress.get("total", 1),
            "total": bundle.progress.get("total", 1),
        }
        leases.succeed_locked(jobs.BUNDLE, current)
        current.save()
        record(
            action="bundle.generated",
            actor=current.requested_by,
            obj=current,
            after={
                "subject": current.subject_text,
                "bag": current.bag_name,
                "sha256": sha256,
                "size": size,
                "files": len(current.files),
                "contents": current.contents,
            },
        )
    return current


# ---------------------------------------------------------------------------------------------- download


def bundle_download(*, actor, bundle: EvidenceBundle) -> File:
    """Open a finished bundle's zip after recording who downloaded it (``bundle.downloaded``)."""
    if bundle.status != JobStatus.SUCCEEDED:
        raise jobs.NotReady(f"Bundle {bundle.pk} is {bundle.status}: there is no zip to download.")
    with transaction.atomic():
        record(
            action="bundle.downloaded",
            actor=actor,
            obj=bundle,
            after={"sha256": bundle.sha256, "size": bundle.size},
        )
    return storage.open_blob(bundle.file_key)
