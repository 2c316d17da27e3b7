"""Judged evaluations: metrics an LLM judge produced elsewhere (OpenTelemetry GenAI evaluation events,
promptfoo, deepeval, ragas, MLflow GenAI evaluations), imported for a model version with the judge's provenance and, where people
labelled a sample, the judge's agreement with them (monitoring.judged)."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models


class JudgedFormat(models.TextChoices):
    OTEL_GENAI = "otel_genai", "OpenTelemetry GenAI evaluation events (OTLP/JSON logs)"
    PROMPTFOO = "promptfoo", "promptfoo results (JSON)"
    DEEPEVAL = "deepeval", "deepeval test run (JSON)"
    RAGAS = "ragas", "ragas results (CSV)"
    MLFLOW = "mlflow", "MLflow GenAI evaluation (run and traces, JSON)"


class JudgedEvaluation(models.Model):
    """One imported file of judged results. Append-only: the database refuses changing or deleting one.

    ``results`` holds per metric the items judged, mean score, pass rate, judge models and prompt versions,
    and against the human labels (if any) the agreement and Cohen's kappa; ``result_sha256`` is SHA-256 of
    its RFC 8785 bytes. The file and the labels are stored by SHA-256.
    """

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="judged_evaluations"
    )
    format = models.CharField(max_length=20, choices=JudgedFormat.choices)
    file_name = models.CharField(max_length=255)
    file_key = models.CharField(max_length=300)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.BigIntegerField()
    labels_key = models.CharField(max_length=300, blank=True)
    labels_sha256 = models.CharField(max_length=64, blank=True)
    judge_model = models.CharField(max_length=200, blank=True, help_text="As given with the import.")
    judge_prompt_version = models.CharField(max_length=200, blank=True, help_text="As given with the import.")
    pass_threshold = models.FloatField()
    results = models.JSONField()
    result_sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "model_version__model__team"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "file_sha256", "labels_sha256", "result_sha256"],
                name="monitoring_judged_once",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="monitoring_judged_fixed", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"judged evaluation #{self.pk} ({self.format}) on {self.model_version}"
