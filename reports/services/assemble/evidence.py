"""The evidence bundle's parts: check results, approvals and signatures, OSCAL, the audit excerpt.

For a model version: every succeeded check run of the version (validation and monitoring), each with
its stored results file (``checks/runs/run-<id>.json``, the RFC 8785 bytes whose SHA-256 is the run's
``result_sha256``); every approval request of the version with its signatures (including the bytes the
server signed and its Ed25519 signature); the signed record the bundle describes (the approval of
record's manifest, ``evidence/signed-manifest.json``, with what arrived after it); every document that
manifest names (``evidence/documents/``) and a description of each dataset of the version (digest, schema,
profile; ``datasets/``), each file copied when it is at most ``ATTEST_BUNDLE_FILE_MAX_BYTES``; the audit
excerpt of the model; OSCAL assessment results over the signed manifest's runs. For a time range: the
runs that finished in it, the approval requests made or completed in it, its audit events, and one OSCAL
document per version with validation runs in the range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db.models import Q

from audit import keys
from monitoring.models import CheckRun
from registry import storage
from registry.models import ModelVersion
from reports.evidence import records
from reports.evidence.bundle import BundleInput
from reports.evidence.oscal import AssessmentInput, assessment_results_json
from reports.models import EvidenceBundle
from reports.rendering.inputs import canonical_json
from reports.services.assemble import audit, common
from workflow.models import ApprovalRequest, Policy, Signature
from workflow.services.evidence import SignedEvidence, signed_evidence


def bundle_input(
    bundle: EvidenceBundle, pdfs: Sequence[tuple[str, bytes]], excerpt: audit.AuditExcerpt
) -> BundleInput:
    """Everything that goes into the bag of ``bundle``, with the PDFs already rendered."""
    runs = _runs(bundle)
    controls = common.controls_by_check()
    extra = [(f"checks/runs/run-{run.pk}.json", rfc8785.dumps(run.results or {})) for run in runs]
    assessment = None
    if bundle.model_version_id is not None:
        signed = signed_evidence(bundle.model_version)
        assessment = assessment_input(bundle.model_version, bundle.generated_at, signed)
        extra += signed_record_files(signed) + document_files(signed) + dataset_files(bundle.model_version)
    else:
        extra += [
            (
                f"oscal/assessment-results-{version.model.name}-v{version.version}.json",
                assessment_results_json(item),
            )
            for version, item in _range_assessments(runs, bundle.generated_at)
        ]
    extra += public_key_files()
    return BundleInput(
        bundle_id=bundle.bag_name,
        scope=bundle.subject_text,
        generated_at=common.utc(bundle.generated_at),
        generated_by=bundle.requested_by_name,
        organisation=common.ORGANISATION,
        reports=list(pdfs),
        check_runs=[common.check_run_record(run, controls) for run in runs],
        approvals=[approval_json(request) for request in _requests(bundle)],
        audit_events=[audit.event_json(event) for event in excerpt.events],
        audit_verification=audit.verification_json(excerpt),
        audit_checkpoint=audit.checkpoint_json(excerpt.checkpoint),
        assessment=assessment,
        extra_files=extra,
    )


def contents_summary(data: BundleInput, excerpt: audit.AuditExcerpt) -> dict[str, Any]:
    """What went in, counted (kept on the record and in the audit event)."""
    return {
        "reports": [name for name, _ in data.reports],
        "check_runs": len(data.check_runs),
        "check_results": sum(len(run.results) for run in data.check_runs),
        "approvals": len(data.approvals),
        "signatures": sum(len(item["signatures"]) for item in data.approvals),
        "audit_events": len(data.audit_events),
        "audit_events_in_scope": excerpt.total,
        "audit_intact": excerpt.verification.intact,
        "checkpoint": excerpt.checkpoint.number if excerpt.checkpoint else None,
    }


# ---------------------------------------------------------------------------------------------- checks


def _runs(bundle: EvidenceBundle) -> list[CheckRun]:
    runs = common.finished_runs()
    if bundle.model_version_id is not None:
        return list(runs.filter(model_version=bundle.model_version))
    return list(runs.filter(finished_at__gte=bundle.period_start, finished_at__lt=bundle.period_end))


def assessment_input(
    version: ModelVersion, generated_at: datetime, signed: SignedEvidence | None = None
) -> AssessmentInput:
    """OSCAL assessment results of the version: the runs of its signed manifest (the approval of record's,
    else what a request would freeze now), and the catalogue's controls that a check provides evidence
    for (the other criteria of a control, documents, approvals, are in the validation report's control
    coverage)."""
    signed = signed if signed is not None else signed_evidence(version)
    return _assessment(version, sorted(signed.runs, key=lambda run: run.kind), generated_at)


def _assessment(version: ModelVersion, runs: Iterable[CheckRun], generated_at: datetime) -> AssessmentInput:
    controls = common.controls_by_check()
    tier = version.model.risk_tier
    active = Policy.objects.filter(tier=tier, is_active=True).first()
    return AssessmentInput(
        title=f"Automated assessment of {version}",
        model=common.model_info(version),
        generated_at=common.utc(generated_at),
        policy=f"tier {active.tier} v{active.version}" if active else f"tier {tier}",
        controls=common.control_refs(model_kind=version.model.kind),
        runs=[common.check_run_record(run, controls) for run in runs],
    )


def _range_assessments(
    runs: Sequence[CheckRun], generated_at: datetime
) -> list[tuple[ModelVersion, AssessmentInput]]:
    """Per version, the latest validation run of each kind among the range's runs."""
    latest: dict[int, dict[str, CheckRun]] = {}
    versions: dict[int, ModelVersion] = {}
    for run in runs:
        if run.plan_id is None:
            latest.setdefault(run.model_version_id, {})[run.kind] = run  # runs come oldest first
            versions[run.model_version_id] = run.model_version
    return [
        (versions[pk], _assessment(versions[pk], [by_kind[k] for k in sorted(by_kind)], generated_at))
        for pk, by_kind in sorted(latest.items())
    ]


# ---------------------------------------------------------------------------------------------- the record


def signed_record_files(signed: SignedEvidence) -> list[tuple[str, bytes]]:
    """``evidence/signed-manifest.json``: which approval the bundle describes, its digest and manifest,
    and the validation evidence that arrived after it (not part of what was signed)."""
    approval = signed.approval
    record = {
        "approval": approval.pk if approval is not None else None,
        "status": approval.status if approval is not None else "not requested",
        "signed": signed.signed,
        "evidence_digest": signed.digest,
        "manifest": signed.manifest.to_stored(),
        "after_approval": {
            "summary": signed.later_summary() if signed.signed else "",
            "check_runs": [
                {"run": run.pk, "kind": run.kind, "outcome": run.outcome, "result_sha256": run.result_sha256}
                for run in signed.later_runs
            ],
            "documents": [
                {"type": doc.evidence_type_id, "title": doc.title, "sha256": doc.sha256}
                for doc in signed.later_documents
            ],
        },
    }
    return [("evidence/signed-manifest.json", canonical_json(record))]


def document_files(signed: SignedEvidence) -> list[tuple[str, bytes]]:
    """Every document of the signed manifest: an index, and each file under the size cap."""
    files, index = [], []
    for document in signed.documents:
        path = f"evidence/documents/{document.sha256[:12]}-{_safe_name(document.file_name)}"
        included = _copy(document.file_key, document.size, path, files)
        index.append(
            {
                "type": document.evidence_type_id,
                "title": document.title,
                "file_name": document.file_name,
                "sha256": document.sha256,
                "size": document.size,
                "uploaded_at": document.uploaded_at,
                "path": path if included else None,
                "not_included": None if included else _too_large(document.size),
            }
        )
    return [("evidence/documents.json", canonical_json({"documents": index})), *files]


def dataset_files(version: ModelVersion) -> list[tuple[str, bytes]]:
    """A description of each training and validation dataset (digest, schema, profile), and the file
    itself under the size cap."""
    files = []
    for role, dataset in common.version_dataset_versions(version):
        stem = f"datasets/{_safe_name(dataset.dataset.name)}-v{dataset.version}"
        path = f"{stem}.{dataset.file_format or 'data'}"
        included = _copy(dataset.file_key, dataset.file_size, path, files)
        description = {
            "name": dataset.dataset.name,
            "version": dataset.version,
            "role": role,
            "sha256": dataset.file_sha256,
            "size": dataset.file_size,
            "format": dataset.file_format,
            "rows": dataset.row_count,
            "target_column": dataset.target_column,
            "prediction_column": dataset.prediction_column,
            "sensitive_columns": dataset.sensitive_columns,
            "schema": dataset.schema,
            "profile": dataset.profile,
            "path": path if included else None,
            "not_included": None if included else _too_large(dataset.file_size),
        }
        files.insert(0, (f"{stem}.json", canonical_json(description)))
    return files


def _copy(key: str, size: int, path: str, files: list[tuple[str, bytes]]) -> bool:
    if size > settings.ATTEST_BUNDLE_FILE_MAX_BYTES:
        return False
    with storage.open_blob(key) as handle:
        files.append((path, handle.read()))
    return True


def _too_large(size: int) -> str:
    return f"{size} bytes is more than ATTEST_BUNDLE_FILE_MAX_BYTES ({settings.ATTEST_BUNDLE_FILE_MAX_BYTES}); fetch it by its SHA-256 from Attest"


def _safe_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name).strip("._")
    return cleaned[:80] or "file"


# ---------------------------------------------------------------------------------------------- approvals


def _requests(bundle: EvidenceBundle) -> list[ApprovalRequest]:
    requests = ApprovalRequest.objects.select_related(
        "model_version__model", "policy", "requested_by"
    ).prefetch_related("signatures__signer")
    if bundle.model_version_id is not None:
        requests = requests.filter(model_version=bundle.model_version)
    else:
        start, end = bundle.period_start, bundle.period_end
        requests = requests.filter(
            Q(requested_at__gte=start, requested_at__lt=end)
            | Q(completed_at__gte=start, completed_at__lt=end)
        )
    return list(requests.order_by("requested_at", "pk"))


def approval_json(request: ApprovalRequest) -> dict[str, Any]:
    """A request with the manifest and digest it binds, and every signature as stored."""
    return {
        "id": request.pk,
        "model": request.model_version.model.name,
        "version": request.model_version.version,
        "environment": request.environment,
        "status": request.status,
        "policy": {
            "tier": request.policy.tier,
            "version": request.policy.version,
            "name": request.policy.name,
        },
        "stages": request.stage_keys,
        "evidence_digest": request.evidence_digest,
        "evidence_manifest": request.evidence_manifest,
        "justification": request.justification,
        "requested_by": request.requested_by.get_username(),
        "requested_at": request.requested_at,
        "completed_at": request.completed_at,
        "expires_at": request.expires_at,
        "outcome_reason": request.outcome_reason,
        "signatures": [
            signature_json(s) for s in sorted(request.signatures.all(), key=lambda s: s.signed_at)
        ],
    }


def signature_json(signature: Signature) -> dict[str, Any]:
    """A signature's fields, the RFC 8785 text the server signed and its Ed25519 signature (hex)."""
    return {
        "id": signature.pk,
        "stage": signature.stage_key,
        "signer": signature.signer.get_username(),
        "printed_name": signature.printed_name,
        "roles": signature.roles,
        "decision": signature.decision,
        "meaning": signature.meaning,
        "comment": signature.comment,
        "signed_at": signature.signed_at,
        "auth_method": signature.auth_method,
        "evidence_digest": signature.evidence_digest,
        "policy_version": signature.policy_version,
        "policy_tier": signature.policy_tier,
        "signed_payload": bytes(signature.payload).decode("utf-8"),
        "server_signature": signature.server_signature,
        "key_id": signature.key_id,
    }


def public_key_files() -> list[tuple[str, bytes]]:
    """The audit public keys (PEM), so the checkpoint and signatures can be checked offline."""
    try:
        trusted = keys.public_keys()
    except keys.SigningKeyError:
        return []
    pem = serialization.Encoding.PEM
    info = serialization.PublicFormat.SubjectPublicKeyInfo
    return [
        (f"audit/public-key-{key_id[:16]}.pem", key.public_bytes(pem, info))
        for key_id, key in sorted(trusted.items())
    ]


def check_records(runs: Iterable[CheckRun], base_url: str = "") -> list[records.CheckRun]:
    controls = common.controls_by_check()
    return [common.check_run_record(run, controls, base_url) for run in runs]
