"""Red-team runs: an imported garak or promptfoo report on a model version, kept by SHA-256, with the
attack success rates computed from it (monitoring.redteam)."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models


class RedTeamFormat(models.TextChoices):
    GARAK = "garak", "garak report (JSONL)"
    PROMPTFOO = "promptfoo", "promptfoo results (JSON)"


class RedTeamRun(models.Model):
    """One imported red-team report. Append-only: the database refuses changing or deleting a run.

    ``results`` is what ``monitoring.redteam.parse`` read from the report (per probe/plugin, per OWASP
    category, in total); ``result_sha256`` is SHA-256 over its RFC 8785 bytes; the report itself is
    stored under ``report_key`` by its SHA-256 (``report_sha256``), so the evidence manifest can pin it.
    """

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="red_team_runs"
    )
    format = models.CharField(max_length=20, choices=RedTeamFormat.choices)
    file_name = models.CharField(max_length=255)
    report_key = models.CharField(max_length=300)
    report_sha256 = models.CharField(max_length=64)
    report_size = models.BigIntegerField()
    tool_version = models.CharField(max_length=50, blank=True)
    target = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    attack_success_rate = models.FloatField(null=True)
    results = models.JSONField()
    result_sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "model_version__model__team"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "report_sha256"], name="monitoring_redteam_once"
            ),
            models.CheckConstraint(
                condition=models.Q(failures__lte=models.F("attempts")), name="monitoring_redteam_counts"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="monitoring_redteam_fixed", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"red-team run #{self.pk} ({self.format}) on {self.model_version}"
