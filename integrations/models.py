"""MLflow tracking servers connected to Attest, the sync jobs that read them, and what each MLflow object
became in Attest.

A registered model, model version or logged dataset is linked to the Attest row it became, so a re-import
finds it and changes nothing. Attest's model versions are immutable (a database trigger refuses updates),
so what MLflow lets users change later (a version's tags, which version an alias names) is mirrored on the
link, and each change is an audit event.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from jobs.models import LeasedJob


class MlflowRegistry(models.Model):
    """One MLflow tracking server whose model registry Attest imports and keeps in sync.

    ``team`` owns the models imported from it; ``run_as`` is the Attest user the webhook- and poll-driven
    syncs act as (it must be allowed to change the team's models; the audit trail names it). ``secret``
    is the HMAC key MLflow signs its webhook deliveries with (MLflow needs it in clear to sign, Attest to
    verify). ``model_names`` limits the sync to those registered models (empty: all of them).
    """

    name = models.SlugField(max_length=64, unique=True)
    tracking_uri = models.URLField(max_length=500)
    team = models.ForeignKey("governance.Team", on_delete=models.PROTECT, related_name="+")
    run_as = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    model_names = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=200)
    poll_minutes = models.PositiveIntegerField(
        default=15,
        validators=[MinValueValidator(0), MaxValueValidator(24 * 60)],
        help_text="Minutes between incremental polls; 0 turns polling off (webhooks only).",
    )
    write_back = models.BooleanField(
        default=True, help_text="Write the approval and gate state back as MLflow model-version tags."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "team"

    class Meta:
        ordering = ["name"]
        verbose_name = "MLflow registry"
        verbose_name_plural = "MLflow registries"

    def __str__(self) -> str:
        return self.name


class MlflowSync(LeasedJob):
    """One import or sync of a registry (all its models, or one): a durable job with progress and a report."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        IMPORT = "import"
        WEBHOOK = "webhook"
        POLL = "poll"

    registry = models.ForeignKey(MlflowRegistry, on_delete=models.PROTECT, related_name="syncs")
    model_name = models.CharField(max_length=256, blank=True, help_text="One MLflow model; empty: all.")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.IMPORT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    progress_current = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    access_team_path = "registry__team"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="integrations_sync_status")]
        verbose_name = "MLflow sync"

    def __str__(self) -> str:
        return f"MLflow sync {self.pk} of {self.registry.name}"


class MlflowModelLink(models.Model):
    """An MLflow registered model and the Attest model it is imported into."""

    registry = models.ForeignKey(MlflowRegistry, on_delete=models.PROTECT, related_name="model_links")
    mlflow_name = models.CharField(max_length=256)
    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.PROTECT, related_name="+")
    aliases = models.JSONField(default=dict, blank=True, help_text="MLflow's aliases: {alias: version}.")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "model__team"

    class Meta:
        ordering = ["registry_id", "mlflow_name"]
        constraints = [
            models.UniqueConstraint(fields=["registry", "mlflow_name"], name="integrations_model_link"),
        ]
        verbose_name = "MLflow model link"

    def __str__(self) -> str:
        return f"MLflow {self.mlflow_name} → {self.model_id}"


class MlflowVersionLink(models.Model):
    """An MLflow model version and the Attest version it became (several MLflow versions of the same
    artifact bytes become one Attest version). ``tags`` mirrors MLflow's tags now; ``written_back`` is
    what Attest last wrote there."""

    registry = models.ForeignKey(MlflowRegistry, on_delete=models.PROTECT, related_name="version_links")
    mlflow_name = models.CharField(max_length=256)
    mlflow_version = models.PositiveIntegerField()
    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="+")
    run_id = models.CharField(max_length=200, blank=True)
    experiment_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="The experiment of the version's run, where its evaluations are found.",
    )
    source = models.CharField(max_length=1000, blank=True)
    flavours = models.JSONField(default=list, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True, help_text="The file taken as the artifact.")
    tags = models.JSONField(default=dict, blank=True)
    written_back = models.JSONField(default=dict, blank=True)
    unresolved_datasets = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access_team_path = "version__model__team"

    class Meta:
        ordering = ["registry_id", "mlflow_name", "mlflow_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "mlflow_name", "mlflow_version"], name="integrations_version_link"
            ),
        ]
        verbose_name = "MLflow version link"

    def __str__(self) -> str:
        return f"MLflow {self.mlflow_name} version {self.mlflow_version}"


class MlflowEvaluationLink(models.Model):
    """An MLflow GenAI evaluation run read into a judged evaluation of the version whose logged model it
    evaluated; read once (the run is finished when the import sees it)."""

    registry = models.ForeignKey(MlflowRegistry, on_delete=models.PROTECT, related_name="evaluation_links")
    run_id = models.CharField(max_length=200)
    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="+")
    evaluation = models.ForeignKey(
        "monitoring.JudgedEvaluation", on_delete=models.PROTECT, related_name="mlflow_links"
    )
    run_link = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "version__model__team"

    class Meta:
        ordering = ["registry_id", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "run_id", "version"], name="integrations_evaluation_link"
            ),
        ]
        verbose_name = "MLflow evaluation link"

    def __str__(self) -> str:
        return f"MLflow evaluation run {self.run_id}"


class MlflowDatasetLink(models.Model):
    """A dataset logged as an MLflow run input (its name and MLflow's digest) and the Attest dataset
    version made from its file."""

    registry = models.ForeignKey(MlflowRegistry, on_delete=models.PROTECT, related_name="dataset_links")
    mlflow_name = models.CharField(max_length=500)
    mlflow_digest = models.CharField(max_length=64)
    source = models.TextField(blank=True)
    dataset_version = models.ForeignKey("registry.DatasetVersion", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "dataset_version__dataset__team"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "mlflow_name", "mlflow_digest"], name="integrations_dataset_link"
            ),
        ]
        verbose_name = "MLflow dataset link"

    def __str__(self) -> str:
        return f"MLflow dataset {self.mlflow_name} ({self.mlflow_digest})"


class MlflowDelivery(models.Model):
    """A webhook delivery MLflow made, kept by its id so a replayed delivery is recognised and ignored."""

    registry = models.ForeignKey(MlflowRegistry, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=64)
    event = models.CharField(max_length=64)
    model_name = models.CharField(max_length=256, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["registry", "delivery_id"], name="integrations_delivery_once"),
        ]
        verbose_name = "MLflow webhook delivery"

    def __str__(self) -> str:
        return f"MLflow delivery {self.delivery_id}"


class SiemDestination(models.Model):
    """A SIEM the audit trail is forwarded to, and how far it has got (``integrations.services.siem``).

    ``last_seq_sent`` is the position: every audit event up to it was acknowledged by the receiver. It is
    advanced in the same transaction that holds this row's lock while the batch is sent, so two workers
    never send the same batch and a crash before the commit re-sends one batch at most (at-least-once).
    ``token`` is the Splunk HEC token or the OTLP ``Authorization`` header value; it is never shown again.
    """

    class Kind(models.TextChoices):
        SYSLOG = "syslog", "Syslog over TCP (RFC 5424, RFC 6587 octet counting)"
        SYSLOG_TLS = "syslog_tls", "Syslog over TLS (RFC 5425)"
        OTLP_HTTP = "otlp_http", "OpenTelemetry logs (OTLP/HTTP JSON)"
        SPLUNK_HEC = "splunk_hec", "Splunk HTTP Event Collector"

    class Format(models.TextChoices):
        CEF = "cef", "CEF"
        JSON = "json", "JSON (the audit export's record)"

    SYSLOG_KINDS = (Kind.SYSLOG, Kind.SYSLOG_TLS)

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    host = models.CharField(
        max_length=253, blank=True, help_text="Syslog: the receiver's host name or address."
    )
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    url = models.URLField(max_length=500, blank=True, help_text="OTLP and HEC: the collector's base URL.")
    token = models.CharField(max_length=500, blank=True)
    ca_bundle = models.TextField(
        blank=True, help_text="Syslog over TLS: CA certificates (PEM); empty: system CAs."
    )
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.CEF)
    enabled = models.BooleanField(default=True)
    batch_size = models.PositiveIntegerField(
        default=500, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    last_seq_sent = models.BigIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Failed sends since the last success.")
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SIEM destination"

    def __str__(self) -> str:
        return self.name
