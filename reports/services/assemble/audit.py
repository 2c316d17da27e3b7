"""The audit excerpt for a model or a time range, its verification and the latest signed checkpoint.

The excerpt of a model is every event about the model or anything that belongs to it (versions,
aliases, check runs, monitoring plans and alerts, approval requests and signatures, findings, evidence
documents, deployments, reports and bundles), optionally within a time range; a time range alone takes
every event in it. The verification is a fresh run of ``audit.verifier`` over the whole
chain (so the excerpt's links are checked from the genesis onwards, against every signed checkpoint),
made after the excerpt was read, so it covers every event in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from audit import ACTIONS, checkpoints, keys, verifier
from audit.checkpoints import export_line
from audit.exports import canonical_text, event_record
from audit.models import AuditCheckpoint, AuditEvent
from audit.recorder import object_type
from monitoring.models import CheckRun, MonitoringAlert, MonitoringPlan
from registry.models import ModelAlias, ModelVersion, RegisteredModel
from reports.models import EvidenceBundle, Report
from reports.rendering.audit_evidence import (
    AuditEventItem,
    AuditEvidenceInput,
    SignedCheckpoint,
    VerificationResult,
)
from reports.rendering.common import utc_text
from reports.services.assemble import common
from workflow.models import ApprovalRequest, Deployment, EvidenceDocument, Finding, Signature

MAX_EVENTS = 5000
CHECKPOINT_PROBLEMS = ("checkpoint", "export", "truncated")


@dataclass
class AuditExcerpt:
    """The selected events (at most ``MAX_EVENTS``, the latest), how many matched, and their proof."""

    events: list[AuditEvent]
    total: int
    verification: verifier.Report
    verified_at: datetime
    checkpoint: AuditCheckpoint | None


def audit_excerpt(
    *, model: RegisteredModel | None = None, start: datetime | None = None, end: datetime | None = None
) -> AuditExcerpt:
    """Read the events in scope, then verify the chain and take the newest signed checkpoint."""
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    selected = scoped_events(model=model, start=start, end=end).filter(seq__lte=head)
    total = selected.count()
    events = list(reversed(selected.order_by("-seq")[:MAX_EVENTS]))
    report = verifier.verify(public_keys=keys.public_keys(), export=checkpoints.default_export())
    return AuditExcerpt(
        events=events,
        total=total,
        verification=report,
        verified_at=timezone.now(),
        checkpoint=AuditCheckpoint.objects.order_by("-number").first(),
    )


def scoped_events(
    *, model: RegisteredModel | None, start: datetime | None, end: datetime | None
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if model is not None:
        events = events.filter(model_condition(model))
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    return events


def model_condition(model: RegisteredModel) -> Q:
    """Events whose object is the model or one of the records that belong to it."""
    related: list[QuerySet] = [
        RegisteredModel.objects.filter(pk=model.pk),
        ModelVersion.objects.filter(model=model),
        ModelAlias.objects.filter(model=model),
        CheckRun.objects.filter(model_version__model=model),
        MonitoringPlan.objects.filter(model_version__model=model),
        MonitoringAlert.objects.filter(check_run__model_version__model=model),
        ApprovalRequest.objects.filter(model_version__model=model),
        Signature.objects.filter(request__model_version__model=model),
        Finding.objects.filter(model=model),
        EvidenceDocument.objects.filter(model_version__model=model),
        Deployment.objects.filter(model_version__model=model),
        Report.objects.filter(model=model),
        EvidenceBundle.objects.filter(model=model),
    ]
    condition = Q(pk__in=[])
    for queryset in related:
        ids = queryset.order_by().annotate(pk_text=Cast("pk", CharField())).values("pk_text")
        condition |= Q(object_type=object_type(queryset.model), object_id__in=ids)
    return condition


# ---------------------------------------------------------------------------------------------- report


def audit_input(report: Report) -> tuple[AuditEvidenceInput, AuditExcerpt]:
    """The audit evidence report's input for the report's model and/or period, and the excerpt."""
    excerpt = audit_excerpt(model=report.model, start=report.period_start, end=report.period_end)
    data = AuditEvidenceInput(
        document=common.document_info(report, report.document_id),
        scope=scope_text(report.model, report.period_start, report.period_end, excerpt),
        events=[_event_item(event) for event in excerpt.events],
        verification=verification_result(excerpt),
        checkpoint=signed_checkpoint(excerpt.checkpoint),
        range_start=common.utc(report.period_start) if report.period_start else None,
        range_end=common.utc(report.period_end) if report.period_end else None,
        action_descriptions=dict(ACTIONS),
    )
    return data, excerpt


def report_summary(excerpt: AuditExcerpt) -> dict[str, Any]:
    result = excerpt.verification
    return {
        "events": len(excerpt.events),
        "events_in_scope": excerpt.total,
        "intact": result.intact,
        "last_seq": result.last_seq,
        "chain_head": result.chain_head,
        "checkpoint": excerpt.checkpoint.number if excerpt.checkpoint else None,
    }


def scope_text(model, start, end, excerpt: AuditExcerpt) -> str:
    parts = [f"model {model.name}"] if model is not None else ["all events"]
    if start is not None and end is not None:
        parts.append(f"{utc_text(start)} to {utc_text(end)}")
    text = ", ".join(parts)
    if excerpt.total > len(excerpt.events):
        text += f" (the latest {len(excerpt.events)} of {excerpt.total} events)"
    return text


def _event_item(event: AuditEvent) -> AuditEventItem:
    return AuditEventItem(
        sequence=event.seq,
        occurred_at=common.utc(event.occurred_at),
        actor=event.actor_username or "system",
        action=event.action,
        object_type=event.object_type,
        object_repr=event.object_repr,
        hash=event.hash,
        prev_hash=event.prev_hash,
        request_id=event.request_id,
    )


def verification_result(excerpt: AuditExcerpt) -> VerificationResult:
    """The verifier's verdict as the report prints it."""
    result = excerpt.verification
    first = result.first_problem
    return VerificationResult(
        ok=result.intact,
        verified_at=common.utc(excerpt.verified_at),
        first_sequence=result.first_seq or 0,
        last_sequence=result.last_seq or 0,
        events_checked=result.events_checked,
        chain_head=result.chain_head or "",
        message=f"{first.code}: {first.message}" if first else "",
        first_bad_sequence=result.first_bad_seq,
        checkpoint_verified=_checkpoints_ok(result),
    )


def _checkpoints_ok(result: verifier.Report) -> bool | None:
    if not result.checkpoints_checked:
        return None
    return not any(problem.code.startswith(CHECKPOINT_PROBLEMS) for problem in result.problems)


def signed_checkpoint(checkpoint: AuditCheckpoint | None) -> SignedCheckpoint | None:
    if checkpoint is None:
        return None
    return SignedCheckpoint(
        sequence=checkpoint.last_seq,
        chain_head=checkpoint.chain_head,
        signed_at=common.utc(checkpoint.created_at),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
    )


# ---------------------------------------------------------------------------------------------- bundle


def event_json(event: AuditEvent) -> dict[str, Any]:
    """An event as the audit API exports it, with the exact text that was hashed (``canonical``)."""
    return {**event_record(event), "canonical": canonical_text(event)}


def verification_json(excerpt: AuditExcerpt) -> dict[str, Any]:
    """The verifier's full report, and when it ran."""
    return {**excerpt.verification.as_dict(), "verified_at": common.utc(excerpt.verified_at)}


def checkpoint_json(checkpoint: AuditCheckpoint | None) -> dict[str, Any] | None:
    """The checkpoint as exported: the signed payload's members plus ``signature``."""
    return export_line(checkpoint) if checkpoint is not None else None
