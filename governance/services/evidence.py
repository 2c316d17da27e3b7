"""Evidence: documents attached to a version, and the manifest whose digest approvals sign.

The manifest is the exact list of what an approval rests on: the artifact's hash, the datasets it was
trained and validated on, the latest check run of each kind with its result hash, and the evidence
documents. Its digest is SHA-256 over RFC 8785 bytes, so anyone can recompute it from the parts.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from governance import access
from governance.audit import record
from governance.models import EvidenceDocument, EvidenceType, User
from monitoring.models import CheckRun
from registry import storage
from registry.models import ModelVersion
from registry.models.lineage import EdgeKind, LineageEdge

MANIFEST_SCHEMA = "attest.evidence-manifest.v1"
EVIDENCE_PREFIX = "evidence"
DATASET_EDGES = {EdgeKind.TRAINED_ON: "training", EdgeKind.VALIDATED_ON: "validation"}


def evidence_add(
    *, actor: User, version: ModelVersion, evidence_type: str, title: str, upload: storage.Upload
) -> EvidenceDocument:
    """Attach a document (hashed while it streamed in) to a version; the same bytes twice are one document.

    Changing the evidence of a version with a pending approval invalidates that approval when it is
    next signed, because the manifest digest no longer matches.
    """
    # ML engineers attach their documentation; validators attach their own memos and reviews.
    if not (access.can(actor, "change", version.model) or access.can(actor, "validate", version.model)):
        raise PermissionDenied(
            "Only the model's ML engineers, its validators or an administrator add evidence."
        )
    kind = EvidenceType.objects.filter(key=evidence_type).first()
    if kind is None:
        raise ValidationError({"evidence_type": [f"Unknown evidence type '{evidence_type}'."]})
    with transaction.atomic():
        existing = EvidenceDocument.objects.filter(model_version=version, sha256=upload.sha256).first()
        if existing is not None:
            return existing
        document = EvidenceDocument.objects.create(
            model_version=version,
            evidence_type=kind,
            title=title[:300] or upload.filename,
            file_name=upload.filename,
            file_key=storage.store(EVIDENCE_PREFIX, upload),
            sha256=upload.sha256,
            size=upload.size,
            uploaded_by=actor,
        )
        record(action="evidence.added", actor=actor, obj=document, after=_document_facts(document))
    return document


def _document_facts(document: EvidenceDocument) -> dict[str, Any]:
    return {
        "model": document.model_version.model.name,
        "version": document.model_version.version,
        "type": document.evidence_type_id,
        "title": document.title,
        "sha256": document.sha256,
        "size": document.size,
    }


def latest_check_runs(version: ModelVersion) -> dict[str, CheckRun]:
    """The most recent succeeded validation run of each check kind for the version.

    Runs of a monitoring plan are left out: they check production batches on a schedule, so counting
    them would change the signed evidence (and invalidate pending approvals) every time a plan ran;
    their breaches reach the workflow as alerts and findings instead.
    """
    runs = CheckRun.objects.filter(model_version=version, status="succeeded", plan__isnull=True).order_by(
        "kind", "-finished_at", "-pk"
    )
    latest: dict[str, CheckRun] = {}
    for run in runs:
        latest.setdefault(run.kind, run)
    return latest


def evidence_manifest(version: ModelVersion) -> dict[str, Any]:
    """The canonical description of everything an approval of ``version`` rests on."""
    runs = latest_check_runs(version)
    documents = EvidenceDocument.objects.filter(model_version=version).order_by("evidence_type_id", "sha256")
    return {
        "schema": MANIFEST_SCHEMA,
        "model": version.model.name,
        "version": version.version,
        "artifact": {
            "sha256": version.artifact_sha256,
            "size": version.artifact_size,
            "format": version.artifact_format,
        },
        "datasets": version_datasets(version),
        "checks": [
            {"kind": kind, "run": run.pk, "outcome": run.outcome, "result_sha256": run.result_sha256}
            for kind, run in sorted(runs.items())
        ],
        "evidence": [
            {"type": document.evidence_type_id, "title": document.title, "sha256": document.sha256}
            for document in documents
        ],
    }


def manifest_digest(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(manifest)).hexdigest()


def version_datasets(version: ModelVersion) -> list[dict[str, Any]]:
    """The datasets the version was trained and validated on, with their hashes, in a stable order."""
    edges = LineageEdge.objects.filter(dst_version=version, kind__in=list(DATASET_EDGES)).select_related(
        "src_dataset__dataset"
    )
    rows = [
        {
            "role": DATASET_EDGES[edge.kind],
            "name": edge.src_dataset.dataset.name,
            "version": edge.src_dataset.version,
            "sha256": edge.src_dataset.file_sha256,
        }
        for edge in edges
    ]
    return sorted(rows, key=lambda row: (row["role"], row["name"], row["version"]))
