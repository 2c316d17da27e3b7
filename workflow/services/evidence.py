"""Evidence: documents attached to a version, and the manifest whose digest approvals sign.

The manifest is the exact list of what an approval rests on: the artifact's hash, the datasets it was
trained and validated on, the latest check run of each kind with its result hash, and the evidence
documents. Its digest is SHA-256 over RFC 8785 bytes, so anyone can recompute it from the parts.
Stored manifests are read through their typed form (``workflow.services.manifests``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import access
from accounts.models import User
from audit import record
from monitoring.models import CheckRun
from monitoring.services.judged import judged_evaluations_of
from monitoring.services.redteam import latest_red_team_run
from registry import storage
from registry.models import ModelVersion
from registry.models.lineage import EdgeKind, LineageEdge
from workflow.models import (
    ApprovalRequest,
    ApprovalStatus,
    EvidenceDocument,
    EvidenceType,
    ValidationDocument,
)
from workflow.policy_scope import checks_for
from workflow.services.manifests import MANIFEST_SCHEMA, EvidenceManifest, ManifestCheck, ManifestDocument

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
    """The canonical description of everything an approval of ``version`` rests on, as it is stored
    (checked against the typed ``EvidenceManifest`` on the way; ``current_manifest`` gives it typed)."""
    runs = latest_check_runs(version)
    documents = EvidenceDocument.objects.filter(model_version=version).order_by("evidence_type_id", "sha256")
    manifest = {
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
    if version.is_bundle:
        manifest["bundle"] = {
            "digest": version.bundle["digest"],
            "components": dict(version.bundle["component_digests"]),
        }
    document = ValidationDocument.objects.filter(model_version=version, revision__gt=0).first()
    if document is not None:
        manifest["validation_document"] = {
            "revision": document.revision,
            "sha256": document.content_sha256,
            "rating": document.rating,
        }
    red_team = latest_red_team_run(version)
    if red_team is not None:
        manifest["red_team"] = {
            "run": red_team.pk,
            "format": red_team.format,
            "report_sha256": red_team.report_sha256,
            "result_sha256": red_team.result_sha256,
        }
    judged_evaluations = judged_evaluations_of(version)
    if judged_evaluations:
        manifest["judged_evaluations"] = [
            {
                "id": evaluation.pk,
                "format": evaluation.format,
                "file_sha256": evaluation.file_sha256,
                "labels_sha256": evaluation.labels_sha256,
                "result_sha256": evaluation.result_sha256,
            }
            for evaluation in sorted(judged_evaluations, key=lambda evaluation: evaluation.pk)
        ]
    return EvidenceManifest.from_stored(manifest).to_stored()


def current_manifest(version: ModelVersion) -> EvidenceManifest:
    """The manifest a request for ``version`` would freeze now, typed."""
    return EvidenceManifest.from_stored(evidence_manifest(version))


def manifest_digest(manifest: EvidenceManifest | dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 bytes of the stored manifest: the digest approvals sign."""
    typed = manifest if isinstance(manifest, EvidenceManifest) else EvidenceManifest.from_stored(manifest)
    return typed.digest()


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


# --- the signed record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedEvidence:
    """What an approval rests on, read from its frozen manifest, and what arrived after it was frozen.

    ``approval`` is None when the version has no approved or pending request: ``manifest`` is then the
    evidence as a request would freeze it now (``signed`` is False and every reader must say so).
    ``runs`` and ``documents`` are exactly the manifest's, in its order; ``later_runs`` and
    ``later_documents`` are validation evidence of the version that succeeded or was added after the
    manifest was frozen and is not in it. ``current_digest`` is the digest a request made now would sign.
    """

    approval: ApprovalRequest | None
    manifest: EvidenceManifest
    digest: str
    runs: list[CheckRun]
    documents: list[EvidenceDocument]
    later_runs: list[CheckRun] = field(default_factory=list)
    later_documents: list[EvidenceDocument] = field(default_factory=list)
    current_digest: str = ""

    @property
    def signed(self) -> bool:
        return self.approval is not None

    def later_summary(self) -> str:
        """``after approval: 3 check runs (1 fail, 2 pass), 1 document`` or empty when nothing came later."""
        if not (self.later_runs or self.later_documents):
            return ""
        parts = []
        if self.later_runs:
            parts.append(f"{_count(len(self.later_runs), 'check run')} ({_outcome_counts(self.later_runs)})")
        if self.later_documents:
            parts.append(_count(len(self.later_documents), "document"))
        label = "after approval" if self.approval.status == "approved" else "after the request"
        return f"{label}: {', '.join(parts)}"


def approval_of_record(version: ModelVersion):
    """The approval a version's documents describe: its latest completed approval, else its pending one."""
    requests = ApprovalRequest.objects.filter(model_version=version).select_related("policy")
    approved = requests.filter(status=ApprovalStatus.APPROVED).order_by("-completed_at", "-pk").first()
    return approved or requests.filter(status=ApprovalStatus.PENDING).order_by("-requested_at", "-pk").first()


def signed_evidence(version: ModelVersion, approval=None) -> SignedEvidence:
    """The evidence behind ``approval`` (default: the approval of record) as its manifest froze it."""
    approval = approval if approval is not None else approval_of_record(version)
    if approval is None:
        return unsigned_evidence(version)
    current = current_manifest(version)
    manifest = EvidenceManifest.from_stored(approval.evidence_manifest)
    runs, documents = manifest_records(version, manifest)
    return SignedEvidence(
        approval=approval,
        manifest=manifest,
        digest=approval.evidence_digest,
        runs=runs,
        documents=documents,
        later_runs=_later_runs(version, manifest, approval.requested_at),
        later_documents=_later_documents(version, manifest, approval.requested_at),
        current_digest=manifest_digest(current),
    )


def unsigned_evidence(version: ModelVersion) -> SignedEvidence:
    """The evidence a request would freeze now, for a version nobody has been asked to approve."""
    current = current_manifest(version)
    runs, documents = manifest_records(version, current)
    digest = current.digest()
    return SignedEvidence(
        approval=None, manifest=current, digest=digest, runs=runs, documents=documents, current_digest=digest
    )


def manifest_records(version: ModelVersion, manifest: EvidenceManifest):
    """The check runs and documents a manifest names, in its order (each pinned by id or SHA-256)."""
    run_ids = [check.run for check in manifest.checks]
    by_id = CheckRun.objects.select_related("reference_dataset__dataset", "current_dataset__dataset").in_bulk(
        run_ids
    )
    hashes = [item.sha256 for item in manifest.evidence]
    documents = {
        document.sha256: document
        for document in EvidenceDocument.objects.filter(model_version=version, sha256__in=hashes)
    }
    return (
        [by_id[run_id] for run_id in run_ids if run_id in by_id],
        [documents[sha] for sha in hashes if sha in documents],
    )


def _later_runs(version: ModelVersion, manifest: EvidenceManifest, since) -> list[CheckRun]:
    named = {check.run for check in manifest.checks}
    runs = CheckRun.objects.filter(
        model_version=version, status="succeeded", plan__isnull=True, finished_at__gt=since
    ).exclude(pk__in=named)
    return list(runs.order_by("finished_at", "pk"))


def _later_documents(version: ModelVersion, manifest: EvidenceManifest, since) -> list[EvidenceDocument]:
    named = {item.sha256 for item in manifest.evidence}
    documents = EvidenceDocument.objects.filter(model_version=version, uploaded_at__gt=since)
    return list(documents.exclude(sha256__in=named).order_by("uploaded_at", "pk"))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _outcome_counts(runs: list[CheckRun]) -> str:
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.outcome] = counts.get(run.outcome, 0) + 1
    order = ["fail", "warn", "pass"]
    return ", ".join(f"{counts[outcome]} {outcome}" for outcome in sorted(counts, key=order.index))


def manifest_differences(signed: EvidenceManifest, other: EvidenceManifest) -> list[str]:
    """How ``other`` differs from ``signed``, in words a reader can check (empty when they are equal)."""
    differences = []
    artifacts = [manifest.artifact.sha256 if manifest.artifact else None for manifest in (signed, other)]
    if artifacts[0] != artifacts[1]:
        differences.append("a different artifact")
    if signed.datasets != other.datasets:
        differences.append("different training or validation datasets")
    differences += _check_differences(signed.checks, other.checks)
    differences += _document_differences(signed.evidence, other.evidence)
    differences += _validation_document_differences(signed.validation_document, other.validation_document)
    return differences


def _validation_document_differences(signed, other) -> list[str]:
    if signed == other:
        return []
    if signed is None:
        return [f"validation document revision {other.revision} added"]
    if other is None:
        return [f"no validation document (revision {signed.revision} in the approved manifest)"]
    return [f"validation document revision {other.revision} instead of revision {signed.revision}"]


def _check_differences(signed: list[ManifestCheck], other: list[ManifestCheck]) -> list[str]:
    before = {check.kind: check for check in signed}
    after = {check.kind: check for check in other}
    found = []
    for kind in sorted(before.keys() | after.keys()):
        old, new = before.get(kind), after.get(kind)
        if old == new:
            continue
        if old is None:
            found.append(f"{kind} run {new.run} ({new.outcome}) added")
        elif new is None:
            found.append(f"no {kind} run (run {old.run} ({old.outcome}) in the approved manifest)")
        else:
            found.append(f"{kind} run {new.run} ({new.outcome}) instead of run {old.run} ({old.outcome})")
    return found


def _document_differences(signed: list[ManifestDocument], other: list[ManifestDocument]) -> list[str]:
    before = {item.sha256: item for item in signed}
    after = {item.sha256: item for item in other}
    added = [f"document '{after[sha].title}' ({after[sha].type}) added" for sha in after if sha not in before]
    removed = [f"document '{before[sha].title}' missing" for sha in before if sha not in after]
    return added + removed


def material_changes(evidence: SignedEvidence, policy) -> list[str]:
    """Evidence that arrived after the approval and would change a validator's reading of it.

    Material: a new warning or failing validation run of a kind ``policy`` requires, unless it repeats
    the approved run's exact results (same result digest); a new document of a type the policy requires
    (a replaced document is a new one: stored documents never change); a revision of the validation
    document the approval signed. Monitoring-plan runs are not
    validation evidence: they reach the workflow through alerts.
    """
    if not evidence.signed:
        return []
    model_kind = evidence.approval.model_version.model.kind
    required_kinds = {check["kind"] for check in checks_for(policy.required_checks, model_kind)}
    approved_results = {check.kind: check.result_sha256 for check in evidence.manifest.checks}
    changes = [
        f"{run.kind} run {run.pk} finished {run.outcome} after the approval"
        for run in evidence.later_runs
        if run.kind in required_kinds
        and run.outcome in ("warn", "fail")
        and run.result_sha256 != approved_results.get(run.kind)
    ]
    changes += [
        f"a new {document.evidence_type_id} document '{document.title}' was added after the approval"
        for document in evidence.later_documents
        if document.evidence_type_id in policy.required_evidence
    ]
    signed_document = evidence.manifest.validation_document
    if signed_document is not None:
        version = evidence.approval.model_version
        now = ValidationDocument.objects.filter(model_version=version).values_list(
            "revision", "content_sha256"
        )
        revision, digest = now.first() or (0, "")
        if digest != signed_document.sha256:
            changes.append(
                f"the validation document was revised after the approval (revision {revision}; the approval "
                f"signed revision {signed_document.revision})"
            )
    return changes
