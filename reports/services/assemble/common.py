"""Records shared by every document, read from the database and mapped to the builders' dataclasses.

Everything here reads; nothing writes. Each function says which stored facts it copies, so a report
shows what the database holds and nothing else: printed names and UTC times of signatures as signed,
SHA-256 digests as stored, control statuses as ``control_coverage`` computes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q
from django.urls import reverse

from audit.models import AuditEvent
from monitoring import results as check_results
from monitoring.models import CheckRun, RunStatus
from registry.models import DatasetVersion, ModelVersion
from registry.models.lineage import EdgeKind, LineageEdge
from reports.evidence import records
from reports.models import Job
from reports.rendering.common import number, percent
from reports.rendering.inputs import (
    ChainHead,
    ColumnProfile,
    ControlStatus,
    DatasetProfile,
    DocumentInfo,
    EvidenceItem,
    FindingItem,
    ModelInfo,
    SignatureItem,
)
from reports.services.jobs import printed_name
from workflow.models import ApprovalRequest, Control, EvidenceDocument, Finding, Signature
from workflow.services.controls import control_coverage, evidencing_checks
from workflow.services.evidence import (
    SignedEvidence,
    manifest_differences,
    signed_evidence,
    unsigned_evidence,
)
from workflow.services.manifests import EvidenceManifest

ORGANISATION = "Attest"
DATASET_ROLES = {EdgeKind.TRAINED_ON: "training", EdgeKind.VALIDATED_ON: "validation"}


# ---------------------------------------------------------------------------------------------- who, what


def document_info(job: Job, document_id: str) -> DocumentInfo:
    """The document's id, its date (fixed when the job was first claimed) and who asked for it."""
    return DocumentInfo(
        document_id=document_id,
        generated_at=utc(job.generated_at),
        generated_by=job.requested_by_name or printed_name(job.requested_by),
        organisation=ORGANISATION,
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def model_info(version: ModelVersion) -> ModelInfo:
    """The inventory fields of the version's model and the version's artifact hash."""
    model = version.model
    return ModelInfo(
        name=model.name,
        version=version.version,
        title=model.title,
        description=model.description,
        purpose=model.purpose,
        owner=model.owner.printed_name,
        team=model.team.name,
        risk_tier=model.risk_tier,
        lifecycle_status=model.get_status_display(),
        eu_ai_act_category=model.get_eu_ai_act_category_display(),
        artifact_sha256=version.artifact_sha256,
    )


def chain_head() -> ChainHead:
    """The last event of the audit chain now (sequence 0 and an empty hash for an empty chain)."""
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    return ChainHead(sequence=head["seq"], hash=head["hash"]) if head else ChainHead(sequence=0, hash="")


# ---------------------------------------------------------------------------------------------- data


def version_dataset_versions(version: ModelVersion) -> list[tuple[str, DatasetVersion]]:
    """(role, dataset version) the version was trained and validated on, in a stable order."""
    edges = LineageEdge.objects.filter(dst_version=version, kind__in=list(DATASET_ROLES)).select_related(
        "src_dataset__dataset"
    )
    pairs = [(DATASET_ROLES[edge.kind], edge.src_dataset) for edge in edges]
    return sorted(pairs, key=lambda pair: (pair[0], pair[1].dataset.name, pair[1].version))


def dataset_profiles(version: ModelVersion) -> list[DatasetProfile]:
    """Each training and validation dataset with its hash, row count and stored column profile."""
    return [dataset_profile(role, dataset) for role, dataset in version_dataset_versions(version)]


def dataset_profile(role: str, dataset: DatasetVersion) -> DatasetProfile:
    columns = (dataset.profile or {}).get("columns") or []
    return DatasetProfile(
        name=dataset.dataset.name,
        version=dataset.version,
        role=role,
        sha256=dataset.file_sha256,
        rows=dataset.row_count,
        columns=[_column(column) for column in columns],
    )


def _column(column: dict[str, Any]) -> ColumnProfile:
    return ColumnProfile(
        name=str(column.get("name", "")),
        dtype=str(column.get("dtype", "")),
        missing_share=column.get("missing_share"),
        summary=_column_summary(column),
    )


def _column_summary(column: dict[str, Any]) -> str:
    kind = column.get("kind")
    if kind == "numeric":
        median = (column.get("quantiles") or {}).get("p50")
        return f"min {number(column.get('min'))} · median {number(median)} · max {number(column.get('max'))}"
    if kind in {"categorical", "boolean"}:
        top = column.get("top") or []
        shown = ", ".join(f"{item['value']} ({percent(item.get('share'))})" for item in top[:3])
        more = column.get("distinct", len(top)) - min(len(top), 3)
        return shown + (f" and {more} more" if more > 0 else "")
    if kind == "temporal":
        return f"{column.get('min') or '—'} to {column.get('max') or '—'}"
    return ""


def dataset_label(dataset: DatasetVersion | None) -> str:
    return f"{dataset.dataset.name} v{dataset.version}" if dataset is not None else "—"


# ---------------------------------------------------------------------------------------------- governance


def findings_of(version: ModelVersion) -> list[Finding]:
    """Findings on the version, and those on its model that name no version."""
    condition = Q(model_version=version) | Q(model=version.model, model_version__isnull=True)
    return list(Finding.objects.filter(condition).select_related("owner").order_by("raised_at", "pk"))


def finding_items(findings: Iterable[Finding]) -> list[FindingItem]:
    return [
        FindingItem(
            finding_id=f"F-{finding.pk}",
            severity=finding.severity,
            title=finding.title,
            status=finding.status,
            owner=finding.owner.printed_name,
            due=finding.due_date,
            source=finding.source + (f" (check run {finding.check_run_id})" if finding.check_run_id else ""),
        )
        for finding in findings
    ]


def approval_requests(version: ModelVersion) -> list[ApprovalRequest]:
    """Every approval request of the version, oldest first, with signatures and signers."""
    return list(
        ApprovalRequest.objects.filter(model_version=version)
        .select_related("policy", "requested_by")
        .prefetch_related("signatures__signer")
        .order_by("requested_at", "pk")
    )


def signature_items(requests: Iterable[ApprovalRequest], manifest: EvidenceManifest) -> list[SignatureItem]:
    """Every signature as signed: printed name, meaning, decision, UTC time, roles, digest signed, and
    whether that digest is the one of ``manifest`` (the evidence the document describes) or how the
    manifest its request froze differs from it, in words."""
    digest = manifest.digest()
    items = []
    for request in requests:
        note = digest_note(request, manifest, digest)
        for signature in sorted(request.signatures.all(), key=lambda s: (s.signed_at, s.pk)):
            items.append(signature_item(request, signature, note))
    return items


def digest_note(request: ApprovalRequest, manifest: EvidenceManifest, digest: str) -> str:
    """``matches the approved manifest``, or what differs between ``request``'s manifest and it."""
    if request.evidence_digest == digest:
        return "matches the approved manifest"
    differences = manifest_differences(manifest, EvidenceManifest.from_stored(request.evidence_manifest))
    detail = "; ".join(differences) or "the same evidence in a different form"
    return f"signed request #{request.pk}'s own manifest, which differs: {detail}"


def signature_item(request: ApprovalRequest, signature: Signature, note: str = "") -> SignatureItem:
    stage = request.policy.stage(signature.stage_key) or {}
    return SignatureItem(
        printed_name=signature.printed_name,
        meaning=signature.meaning,
        decision=signature.decision,
        signed_at=utc(signature.signed_at),
        stage=f"#{request.pk} {request.environment}: {stage.get('title', signature.stage_key)}",
        roles=list(signature.roles or []),
        comment=signature.comment,
        digest=signature.evidence_digest,
        authentication=signature.auth_method,
        digest_note=note,
    )


def _artifact_item(version: ModelVersion) -> EvidenceItem:
    """The artifact, or an LLM application's bundle: its digest, read with the version (no file to fetch)."""
    args = [version.model.name, version.version]
    if version.is_bundle:
        return EvidenceItem(
            name="LLM application bundle (components and their digests)",
            kind="bundle",
            sha256=version.artifact_sha256,
            uri=reverse("api:model-version-detail", args=args),
            size=None,
        )
    return EvidenceItem(
        name=f"Artifact {version.artifact_filename}",
        kind="artifact",
        sha256=version.artifact_sha256,
        uri=reverse("api:model-version-download", args=args),
        size=version.artifact_size,
    )


def evidence_items(
    version: ModelVersion, runs: Iterable[CheckRun], documents: Iterable[EvidenceDocument]
) -> list[EvidenceItem]:
    """The artifact, the datasets, the check results and the evidence documents given (a manifest's),
    each with SHA-256."""
    items = [_artifact_item(version)]
    for role, dataset in version_dataset_versions(version):
        items.append(
            EvidenceItem(
                name=f"{dataset_label(dataset)} ({role})",
                kind="dataset",
                sha256=dataset.file_sha256,
                uri=reverse("api:dataset-version-detail", args=[dataset.dataset.name, dataset.version]),
                size=dataset.file_size,
            )
        )
    for run in runs:
        items.append(
            EvidenceItem(
                name=f"{run.kind} check run {run.pk} ({run.outcome})",
                kind="check results",
                sha256=run.result_sha256,
                uri=reverse("api:check-run-detail", args=[run.pk]),
            )
        )
    for document in documents:
        items.append(
            EvidenceItem(
                name=document.title,
                kind=document.evidence_type_id,
                sha256=document.sha256,
                uri=reverse("api:evidence-detail", args=[document.pk]),
                size=document.size,
            )
        )
    return items


def control_statuses(version: ModelVersion, evidence: SignedEvidence | None = None) -> list[ControlStatus]:
    """Every control of the catalogue as ``control_coverage`` judges it for the version's signed evidence."""
    return [
        ControlStatus(
            control_id=item["control"],
            title=item["title"],
            framework=item["framework"],
            status="satisfied" if item["satisfied"] else "not-satisfied",
            evidence=[*item["evidence"], *(f"missing: {missing}" for missing in item["missing"])],
        )
        for item in control_coverage(version, evidence)
    ]


# ---------------------------------------------------------------------------------------------- checks


def described_evidence(report: Job) -> SignedEvidence:
    """The signed evidence a validation or documentation report describes (``parameters["approval"]``,
    fixed when it was requested; a report requested before that existed describes the approval of
    record)."""
    version = report.model_version
    parameters = report.parameters or {}
    if "approval" not in parameters:
        return signed_evidence(version)
    approval = (
        ApprovalRequest.objects.select_related("policy").filter(pk=parameters["approval"]).first()
        if parameters["approval"] is not None
        else None
    )
    return signed_evidence(version, approval) if approval is not None else unsigned_evidence(version)


def controls_by_check() -> dict[str, list[str]]:
    """``{check kind: [control keys]}``: the controls each kind of run is evidence for."""
    mapping: dict[str, list[str]] = {}
    for key, rule in Control.objects.order_by("framework__key", "key").values_list("key", "satisfied_by"):
        for kind in evidencing_checks(rule):
            mapping.setdefault(kind, []).append(key)
    return mapping


def check_run_record(run: CheckRun, controls: dict[str, list[str]], base_url: str = "") -> records.CheckRun:
    """A finished run as the CSV feed and OSCAL see it: its outcome, then one result per evaluation."""
    version = run.model_version
    results = [records.CheckResult(metric="outcome", value=None, result=run.outcome or run.status)]
    for item in check_results.evaluations_of(run):
        results.append(
            records.CheckResult(
                metric=item.metric,
                value=as_number(item.value),
                threshold=as_number(item.threshold),
                result=item.status,
                subject=item.scope,
            )
        )
    return records.CheckRun(
        run_id=str(run.pk),
        model=version.model.name,
        version=version.version,
        check=run.kind,
        outcome=run.outcome or run.status,
        evaluated_at=utc(run.finished_at or run.created_at),
        title=f"{run.kind} check run {run.pk} of {version}",
        controls=controls.get(run.kind, []),
        evidence_uri=base_url.rstrip("/") + reverse("api:check-run-detail", args=[run.pk]),
        evidence_sha256=run.result_sha256,
        results=results,
    )


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def finished_runs():
    """Succeeded check runs with what their records need, oldest result first."""
    return (
        CheckRun.objects.filter(status=RunStatus.SUCCEEDED)
        .select_related("model_version__model")
        .order_by("finished_at", "pk")
    )


def control_refs(
    kinds: Iterable[str] | None = None, *, model_kind: str | None = None
) -> list[records.ControlRef]:
    """The catalogue's controls that a check provides evidence for (optionally only for ``kinds``, and only
    those applying to ``model_kind``: a control naming ``model_kinds`` is left out for any other kind)."""
    wanted = set(kinds) if kinds is not None else None
    refs = []
    for control in Control.objects.select_related("framework").order_by("framework__key", "key"):
        applies_to = (control.satisfied_by or {}).get("model_kinds") or []
        if model_kind is not None and applies_to and model_kind not in applies_to:
            continue
        checks = set(evidencing_checks(control.satisfied_by))
        if checks and (wanted is None or checks & wanted):
            refs.append(
                records.ControlRef(
                    control_id=control.key, title=control.title, framework=control.framework.key
                )
            )
    return refs
