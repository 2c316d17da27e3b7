"""Records of generated reports and evidence bundles, GRC connectors and their delivery log.

A report or bundle is a job: requested (queued), rendered by a worker on the ``reports`` queue from
stored data only (running), then succeeded with the file's SHA-256 and storage key, or failed with the
error. The file itself lives in storage under a name derived from its SHA-256 (``reports/sha256/…``),
so a downloaded copy can always be checked against the record and the audit event that announced it.

Scoping (``access_team_path``): a record about a model belongs to the model's team; a record about a
time range has no model and so is visible only to the roles that read everything (auditors, risk
officers, administrators), which are also the only ones allowed to request one.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db import models

from jobs.models import LeasedJob
from reports import kinds


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


class ReportKind(StrEnum):
    """The names of the kinds that code singles out (bundles, GRC delivery, the Annex IV document).

    Every kind, with its title, rules, assembler and builder, is declared once in
    ``reports.services.report_kinds``; a new kind needs no name here unless other code refers to it.
    """

    VALIDATION = "validation"
    DOCUMENTATION = "documentation"
    MONITORING = "monitoring"
    AUDIT_EVIDENCE = "audit_evidence"


class Variant(models.TextChoices):
    STANDARD = "standard", "PDF"
    PDF_A_3B = "pdf/a-3b", "PDF/A-3b with the results and manifest attached"


class Job(LeasedJob):
    """What reports and bundles share: the subject, the job's life cycle and the stored file.

    Guarantees: ``status`` moves queued → running → succeeded | failed; a worker claims the job with a
    lease (``jobs.leases``: a redelivered task finds nothing to do), and a job whose worker died is
    queued again by the reaper once its lease expires, or failed after its last attempt. ``progress`` is
    ``{"stage", "current", "total"}``. A succeeded job has its file's SHA-256, size and storage key.
    """

    model = models.ForeignKey(
        "registry.RegisteredModel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.JSONField(default=dict, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True, help_text="The date printed in the file.")
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    file_key = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_name = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    access_team_path = "model__team"

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


class EvidenceBundle(Job):
    """A BagIt zip of the evidence for a model version or for a time range.

    ``files`` lists every payload file (path, SHA-256, size) as written to ``manifest-sha256.txt``;
    ``contents`` counts what went in (reports, check runs, approvals, audit events). The reports inside
    are Report records of their own (``reports``), each with its hash in the audit log.
    """

    bag_name = models.CharField(max_length=200, blank=True)
    files = models.JSONField(default=list, blank=True)
    contents = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(model_version__isnull=False)
                | (models.Q(period_start__isnull=False) & models.Q(period_end__isnull=False)),
                name="reports_bundle_has_subject",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="succeeded") | (~models.Q(sha256="") & ~models.Q(file_key="")),
                name="reports_bundle_succeeded_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"evidence bundle #{self.pk} ({self.subject_text})"

    @property
    def subject_text(self) -> str:
        return subject_text(self)


class Report(Job):
    """One PDF report: its kind, subject, inputs' digest and the SHA-256 of the PDF.

    Guarantees: ``inputs_digest`` is the SHA-256 of the RFC 8785 JSON of the builder's input;
    ``text_digest`` that of the HTML laid out (the same inputs give the same text); ``sha256`` is the
    PDF's, written to the audit log (``report.generated``) in the transaction that finishes the job.
    ``summary`` carries the report's headline facts (outcome, missing Annex IV items, verification).
    """

    # No database choices: the request service checks the name against the declared kinds
    # (reports.kinds), so declaring a kind needs no migration.
    kind = models.CharField(max_length=kinds.NAME_LENGTH)
    variant = models.CharField(max_length=10, choices=Variant.choices, default=Variant.STANDARD)
    parameters = models.JSONField(default=dict, blank=True)
    title = models.CharField(max_length=300, blank=True)
    inputs_digest = models.CharField(max_length=64, blank=True)
    text_digest = models.CharField(max_length=64, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    bundle = models.ForeignKey(
        EvidenceBundle, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["model", "kind", "-created_at"], name="reports_report_model_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(model__isnull=False)
                | (models.Q(period_start__isnull=False) & models.Q(period_end__isnull=False)),
                name="reports_report_has_subject",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="succeeded") | (~models.Q(sha256="") & ~models.Q(file_key="")),
                name="reports_report_succeeded_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label.lower()} #{self.pk} ({self.subject_text})"

    @property
    def kind_label(self) -> str:
        """The kind's title as declared (``Validation report``)."""
        return kinds.label(self.kind)

    @property
    def subject_text(self) -> str:
        return subject_text(self)

    @property
    def document_id(self) -> str:
        """The id printed on every page: stable for the record, so a re-render prints the same."""
        return f"ATTEST-R{self.pk:06d}"


def subject_text(job: Job) -> str:
    """``credit-scoring v3``, ``credit-scoring`` or ``2025-03-01 to 2025-04-01 (UTC)``."""
    parts = []
    if job.model_version_id is not None:
        parts.append(str(job.model_version))
    elif job.model_id is not None:
        parts.append(job.model.name)
    if job.period_start is not None and job.period_end is not None:
        parts.append(f"{job.period_start:%Y-%m-%d %H:%M} to {job.period_end:%Y-%m-%d %H:%M} (UTC)")
    return ", ".join(parts)


class ConnectorKind(models.TextChoices):
    WEBHOOK = "webhook", "Signed webhook (Standard Webhooks, JSON with the file inline)"
    SERVICENOW = "servicenow", "ServiceNow-style attachment push (Basic auth, raw file)"


class Payload(models.TextChoices):
    BUNDLE = "bundle", "Evidence bundle (zip)"
    REPORT = "report", "Validation report (PDF)"


CONNECTOR_EVENTS = ["approval.approved"]


class GrcConnector(models.Model):
    """A GRC system that receives evidence: where, how, with which credentials, and when.

    ``events`` lists the events that push automatically (``approval.approved``: the approved version's
    bundle or validation report); empty means on demand only. ``secret`` is the webhook signing secret
    (``whsec_…``, generated) or the ServiceNow password (given): stored to sign or authenticate, never
    returned by the API after creation. Connectors are deactivated rather than deleted, so the delivery
    log keeps its connector.
    """

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=ConnectorKind.choices)
    url = models.URLField(max_length=1000)
    username = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=500)
    events = models.JSONField(default=list, blank=True)
    payload = models.CharField(max_length=10, choices=Payload.choices, default=Payload.BUNDLE)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.is_active and event in (self.events or [])


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class DeliveryTrigger(models.TextChoices):
    APPROVAL = "approval.approved", "An approval completed"
    ON_DEMAND = "on_demand", "On demand"


class GrcDelivery(LeasedJob):
    """One document pushed to one connector, and every attempt to push it (the delivery log).

    Guarantees: at most one delivery per (connector, approval), so the approval sweep is idempotent;
    an attempt is made only by the worker that claimed the delivery (``sending``, a lease); a failed attempt
    schedules the next with exponential backoff (``next_attempt_at``) until the last one, after which
    the delivery is ``failed``. ``sha256`` is the digest of the bytes sent.
    """

    connector = models.ForeignKey(GrcConnector, on_delete=models.PROTECT, related_name="deliveries")
    trigger = models.CharField(max_length=20, choices=DeliveryTrigger.choices)
    approval = models.ForeignKey(
        "workflow.ApprovalRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bundle = models.ForeignKey(
        EvidenceBundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    sha256 = models.CharField(max_length=64, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True, help_text="One entry per attempt.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "approval"],
                condition=models.Q(approval__isnull=False),
                name="reports_delivery_once_per_approval",
            )
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} to {self.connector_id} ({self.status})"
