"""GRC delivery: push a bundle or report to a connector, retried with backoff, every attempt logged.

How a push is triggered:

* **on demand**: an administrator asks for a finished report or bundle to be pushed
  (``delivery_request``), and the delivery is queued on commit;
* **when an approval completes**: ``deliveries_schedule`` (the ``reports.tasks.deliver_pending`` beat
  task, every minute) finds approved requests that each connector subscribed to ``approval.approved``
  has not received yet and creates one delivery per (connector, approval) — the database refuses a
  second, so the sweep is idempotent however often it runs. The reports app sits above governance and
  governance never imports it, so it polls rather than being called. The document (the approved
  version's bundle or validation report) is made by the delivery's task, once, and kept for retries.

A delivery is a durable job (``jobs``): an attempt is made by the worker that claimed it (``sending``,
with a lease); a delivery whose message the broker lost, or whose worker died mid-attempt, is sent
again by the job reaper. A message id is fixed per delivery, so a receiver can drop a repeat. The webhook connector sends
a Standard Webhooks message (signed with the connector's secret by the same library and headers as
governance's webhooks; the file inline, base64); the ServiceNow-style connector posts the raw file to
its URL with ``file_name`` added to the query, Basic authentication and the file's content type (the
Attachment API's ``POST /api/now/attachment/file``). The HTTP request is governance's
(``notifications.http_post``: time-out, no redirects followed). A failure schedules the next attempt with
governance's exponential backoff (30 s, 1 min, 2 min, …) until ``MAX_ATTEMPTS``. Each outcome is
audited: ``grc.delivered`` or ``grc.delivery_failed``.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from accounts import access
from audit import record
from jobs import leases
from jobs.kinds import FAILED, QUEUED, RETRYING, RUNNING, SUCCEEDED, JobKind, register
from registry import storage
from reports import dispatch
from reports.models import (
    ConnectorKind,
    DeliveryStatus,
    DeliveryTrigger,
    EvidenceBundle,
    GrcConnector,
    GrcDelivery,
    JobStatus,
    Payload,
    Report,
    ReportKind,
)
from reports.services import bundles, jobs
from reports.services import reports as report_services
from workflow.models import ApprovalRequest, ApprovalStatus
from workflow.services import notifications

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = notifications.MAX_ATTEMPTS
USER_AGENT = "Attest-GRC/1"
# A delivery waiting this long without a claim has its task sent again (the broker may have lost it).
RESEND_AFTER_SECONDS = 300


def _set_error(delivery: GrcDelivery, error_type: str, message: str) -> list[str]:
    delivery.last_error = message or error_type
    return ["last_error"]


GRC = register(
    JobKind(
        name="grc_delivery",
        model_label="reports.GrcDelivery",
        task="reports.tasks.deliver",
        state_values={
            QUEUED: DeliveryStatus.PENDING,
            RUNNING: DeliveryStatus.SENDING,
            RETRYING: DeliveryStatus.RETRYING,
            SUCCEEDED: DeliveryStatus.DELIVERED,
            FAILED: DeliveryStatus.FAILED,
        },
        set_error=_set_error,
        max_attempts=lambda: MAX_ATTEMPTS,
        resend_seconds=lambda: RESEND_AFTER_SECONDS,
        backoff=lambda attempts: notifications.retry_delay(attempts),
    )
)


@dataclass(frozen=True)
class Document:
    """The file a delivery sends and what it is."""

    kind: str  # bundle or report
    record_id: int
    filename: str
    media_type: str
    content: bytes
    sha256: str


# ---------------------------------------------------------------------------------------------- request


def delivery_request(
    *, actor, connector: GrcConnector, report: Report | None = None, bundle: EvidenceBundle | None = None
) -> GrcDelivery:
    """Push a finished report or bundle to ``connector`` now (administrators); queued on commit."""
    access.require(actor, "administer")
    if (report is None) == (bundle is None):
        raise ValidationError({"report": ["Name exactly one report or one bundle to push."]})
    document = report or bundle
    if document.status != JobStatus.SUCCEEDED:
        raise ValidationError(
            {"report" if report else "bundle": [f"It is {document.status}: nothing to push yet."]}
        )
    if not connector.is_active:
        raise ValidationError({"connector": ["The connector is inactive."]})
    with transaction.atomic():
        delivery = GrcDelivery.objects.create(
            connector=connector,
            trigger=DeliveryTrigger.ON_DEMAND,
            report=report,
            bundle=bundle,
            message_id=_message_id(),
            requested_by=actor,
        )
        transaction.on_commit(lambda: _queue([delivery.pk]))
    return delivery


def deliveries_schedule() -> int:
    """Create the deliveries owed for completed approvals and queue them; returns how many are new.

    Deliveries whose message was lost or whose worker died are the job reaper's (``jobs.reaper``).
    """
    created = []
    for connector in GrcConnector.objects.filter(is_active=True):
        if connector.wants(DeliveryTrigger.APPROVAL):
            created += _approval_deliveries(connector)
    transaction.on_commit(lambda: _queue(created))
    return len(created)


def _approval_deliveries(connector: GrcConnector) -> list[int]:
    delivered = GrcDelivery.objects.filter(connector=connector, approval__isnull=False).values("approval")
    approvals = ApprovalRequest.objects.filter(
        status=ApprovalStatus.APPROVED, completed_at__gte=connector.created_at
    ).exclude(pk__in=delivered)
    created = []
    for approval in approvals.order_by("completed_at", "pk"):
        try:
            with transaction.atomic():
                delivery = GrcDelivery.objects.create(
                    connector=connector,
                    trigger=DeliveryTrigger.APPROVAL,
                    approval=approval,
                    message_id=_message_id(),
                )
        except IntegrityError:
            continue  # a concurrent sweep created it
        created.append(delivery.pk)
    return created


def _queue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        dispatch.deliver(delivery_id)


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


# ---------------------------------------------------------------------------------------------- attempt


def deliver(*, delivery_id: int) -> GrcDelivery | None:
    """One attempt; returns the delivery with its new status (``retrying``: the caller schedules the
    next attempt), or None when there was nothing to attempt (done, not due, or another worker's)."""
    try:
        claimed = leases.claim(GRC, delivery_id)
    except leases.Busy:
        return None
    if claimed is None:
        return None
    _claimed, token = claimed
    delivery = GrcDelivery.objects.select_related("connector", "approval__model_version__model").get(
        pk=delivery_id
    )
    with leases.Heartbeat(GRC, delivery_id, token):
        try:
            document = _document(delivery)
        except Exception as exc:
            logger.exception("GRC delivery %s: the document could not be made", delivery.pk)
            error = f"the document could not be made: {jobs.error_text(exc)}"
            return _attempted(delivery, token, None, None, error)
        status_code, error = send(delivery, document)
    return _attempted(delivery, token, document, status_code, error)


def _document(delivery: GrcDelivery) -> Document:
    """The file to send: the one named, or the approved version's bundle or report (made once and
    kept for the retries; made again only when the earlier one failed)."""
    job = _attached(delivery)
    if job is not None and not job.is_finished:
        job = _take_over(job)  # an earlier attempt's worker died while making it
    if job is None or job.status == JobStatus.FAILED:
        if delivery.approval_id is None:
            raise RuntimeError("the delivery names no document")
        job = _make_document(delivery)
    if job.status != JobStatus.SUCCEEDED:
        raise RuntimeError(f"{type(job).__name__} {job.pk} is {job.status}: {job.error or 'not finished'}")
    with storage.open_blob(job.file_key) as handle:
        content = handle.read()
    if isinstance(job, EvidenceBundle):
        return Document(
            "bundle", job.pk, f"{job.bag_name}.zip", "application/zip", content, jobs.sha256_hex(content)
        )
    filename = f"{job.kind}-{job.document_id}.pdf"
    return Document("report", job.pk, filename, "application/pdf", content, jobs.sha256_hex(content))


def _attached(delivery: GrcDelivery) -> Report | EvidenceBundle | None:
    if delivery.bundle_id is not None:
        return EvidenceBundle.objects.get(pk=delivery.bundle_id)
    if delivery.report_id is not None:
        return Report.objects.get(pk=delivery.report_id)
    return None


def _take_over(job: Report | EvidenceBundle) -> Report | EvidenceBundle:
    claimed = jobs.claim(type(job), job.pk)  # only once its worker's lease has run out
    if claimed is None:
        return job
    if isinstance(claimed, EvidenceBundle):
        return bundles.build_claimed(claimed)
    return report_services.render_claimed(claimed)


def _make_document(delivery: GrcDelivery) -> Report | EvidenceBundle:
    version = delivery.approval.model_version
    name = f"Attest (GRC connector {delivery.connector.name})"
    if delivery.connector.payload == Payload.BUNDLE:
        bundle = bundles.bundle_request(actor=None, version=version, requested_by_name=name, queue=False)
        GrcDelivery.objects.filter(pk=delivery.pk).update(bundle=bundle, report=None)
        return bundles.build_claimed(jobs.claim(EvidenceBundle, bundle.pk))
    report = report_services.report_request(
        actor=None, kind=ReportKind.VALIDATION, version=version, requested_by_name=name, queue=False
    )
    GrcDelivery.objects.filter(pk=delivery.pk).update(report=report, bundle=None)
    return report_services.render_claimed(jobs.claim(Report, report.pk))


def send(delivery: GrcDelivery, document: Document) -> tuple[int | None, str]:
    """POST the document the connector's way; returns (HTTP status or None, error text)."""
    connector = delivery.connector
    if connector.kind == ConnectorKind.WEBHOOK:
        body, headers = webhook_message(delivery, document)
        return notifications.http_post(connector.url, body, headers)
    headers = {
        "content-type": document.media_type,
        "accept": "application/json",
        "authorization": _basic(connector.username, connector.secret),
        "user-agent": USER_AGENT,
        "x-attest-delivery": delivery.message_id,
        "x-attest-sha256": document.sha256,
    }
    return notifications.http_post(
        _with_file_name(connector.url, document.filename), document.content, headers
    )


def webhook_message(delivery: GrcDelivery, document: Document) -> tuple[bytes, dict[str, str]]:
    """The Standard Webhooks body (JSON, the file base64-encoded) and its signed headers."""
    now = timezone.now()
    body = json.dumps(
        {
            "type": delivery.trigger if delivery.approval_id else "evidence.pushed",
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": payload_data(delivery, document),
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(delivery.connector.secret).sign(delivery.message_id, now, body),
    }
    return body.encode(), headers


def payload_data(delivery: GrcDelivery, document: Document) -> dict[str, Any]:
    approval = delivery.approval
    return {
        "delivery": delivery.pk,
        "connector": delivery.connector.name,
        "trigger": delivery.trigger,
        "approval": None
        if approval is None
        else {
            "id": approval.pk,
            "model": approval.model_version.model.name,
            "version": approval.model_version.version,
            "environment": approval.environment,
            "evidence_digest": approval.evidence_digest,
            "completed_at": approval.completed_at.isoformat().replace("+00:00", "Z")
            if approval.completed_at
            else None,
        },
        "document": {
            "kind": document.kind,
            "id": document.record_id,
            "filename": document.filename,
            "media_type": document.media_type,
            "sha256": document.sha256,
            "size": len(document.content),
            "content_base64": base64.b64encode(document.content).decode("ascii"),
        },
    }


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _with_file_name(url: str, filename: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "file_name"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("file_name", filename)])))


def _attempted(
    delivery: GrcDelivery, token: str, document: Document | None, status_code: int | None, error: str
) -> GrcDelivery:
    """Log the attempt, decide what comes next and audit it, in one transaction (if still ours)."""
    now = timezone.now()
    delivered = status_code is not None and 200 <= status_code < 300
    with leases.holding(GRC, delivery.pk, token) as current:
        if current is None:
            return GrcDelivery.objects.get(pk=delivery.pk)
        current.last_status_code = status_code
        current.last_error = "" if delivered else (error or f"HTTP {status_code}")
        current.sha256 = document.sha256 if document else current.sha256
        if delivered:
            current.delivered_at = now
            leases.succeed_locked(GRC, current)
        else:
            leases.retry_locked(GRC, current, "DeliveryFailed", current.last_error, now=now)
        current.log = [*current.log, _log_entry(current, now)]
        current.save()
        record(
            action="grc.delivered" if delivered else "grc.delivery_failed",
            actor=current.requested_by,
            obj=current,
            after=_outcome_facts(current, document),
        )
    return current


def _log_entry(delivery: GrcDelivery, at) -> dict[str, Any]:
    return {
        "attempt": delivery.attempts,
        "at": at.isoformat().replace("+00:00", "Z"),
        "status_code": delivery.last_status_code,
        "error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at.isoformat().replace("+00:00", "Z")
        if delivery.next_attempt_at
        else None,
    }


def _outcome_facts(delivery: GrcDelivery, document: Document | None) -> dict[str, Any]:
    return {
        "connector": delivery.connector.name,
        "trigger": delivery.trigger,
        "approval": delivery.approval_id,
        "document": None if document is None else {"kind": document.kind, "id": document.record_id},
        "sha256": delivery.sha256,
        "attempt": delivery.attempts,
        "status": delivery.status,
        "status_code": delivery.last_status_code,
        "error": delivery.last_error,
    }
