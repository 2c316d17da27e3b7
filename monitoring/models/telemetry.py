"""Production telemetry of deployed LLM applications, received over OTLP/HTTP (``monitoring.otlp``).

Content-free by design: the intake aggregates GenAI log records and metrics into per-version time buckets
of counts (calls, guardrail blocks and flags, refusals, tokens, a latency histogram). Prompt and output
text is never stored unless ``ATTEST_OTLP_STORE_CONTENT`` is on: by default a content item leaves only its
SHA-256 and its length (``TelemetryContent``). docs/OTLP.md names every attribute read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# The GenAI semantic conventions' advised boundaries for gen_ai.client.operation.duration (seconds).
LATENCY_BOUNDS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)


class TelemetryMonitor(models.Model):
    """How one version's telemetry is bucketed and judged: bucket width and the per-bucket maxima.

    Guarantees: a bucket with at least ``min_calls`` calls is judged against every maximum that is set
    (a rate is a share of the bucket's calls, 0..1; the p95 latency is in seconds); a breach raises at
    most one alert per bucket (a ``telemetry`` check run holding the bucket's figures).
    """

    model_version = models.OneToOneField(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="telemetry_monitor"
    )
    bucket_seconds = models.PositiveIntegerField(default=60, help_text="60 (a minute) to 86400 (a day).")
    min_calls = models.PositiveIntegerField(default=20, help_text="Buckets with fewer calls are not judged.")
    max_block_rate = models.FloatField(null=True, blank=True)
    max_flag_rate = models.FloatField(null=True, blank=True)
    max_refusal_rate = models.FloatField(null=True, blank=True)
    max_p95_latency_seconds = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access_team_path = "model_version__model__team"

    def __str__(self) -> str:
        return f"telemetry monitor of {self.model_version}"


class TelemetryBucket(models.Model):
    """One version's telemetry over ``[start, start + width_seconds)``: counts only, no text.

    ``latency_counts`` has one count per ``LATENCY_BOUNDS`` edge plus an overflow count (OTel explicit
    bucket semantics: a value v lands in the first bucket whose upper edge is >= v).
    """

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="telemetry_buckets"
    )
    start = models.DateTimeField()
    width_seconds = models.PositiveIntegerField()
    calls = models.PositiveBigIntegerField(default=0)
    blocked = models.PositiveBigIntegerField(default=0)
    flagged = models.PositiveBigIntegerField(default=0)
    refusals = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    latency_counts = models.JSONField(default=list)
    latency_sum = models.FloatField(default=0.0)
    finish_reasons = models.JSONField(default=dict)
    request_models = models.JSONField(default=dict)
    content_items = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    check_run = models.OneToOneField(
        "monitoring.CheckRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="telemetry_bucket",
        help_text="The telemetry check run (and its alert) raised when the bucket breached.",
    )

    access_team_path = "model_version__model__team"

    class Meta:
        ordering = ["model_version", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "start", "width_seconds"], name="monitoring_telemetry_bucket_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_version} telemetry from {self.start:%Y-%m-%d %H:%M} UTC"


class TelemetryContent(models.Model):
    """A prompt or output seen by the intake: its SHA-256 (of the UTF-8 text) and length in characters.

    ``text`` stays empty unless ``ATTEST_OTLP_STORE_CONTENT`` was on when it arrived.
    """

    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="+")
    bucket_start = models.DateTimeField()
    attribute = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    length = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "model_version__model__team"

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["model_version", "bucket_start"], name="monitoring_tel_content_idx")]

    def __str__(self) -> str:
        return f"{self.attribute} sha256:{self.sha256[:12]} ({self.length} chars)"
