"""Datasets and their immutable, profiled versions."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models

from jobs.models import LeasedJob


class DatasetRole(models.TextChoices):
    TRAINING = "training", "Training"
    VALIDATION = "validation", "Validation"
    REFERENCE = "reference", "Reference"
    PRODUCTION_BATCH = "production_batch", "Production batch"
    OTHER = "other", "Other"


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class ProfileStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Dataset(models.Model):
    """A named dataset owned by a team. ``(lineage_namespace, lineage_name)`` is its OpenLineage identity."""

    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey("governance.Team", on_delete=models.PROTECT, related_name="datasets")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lineage_namespace = models.CharField(max_length=200, default="attest")
    lineage_name = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "team"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["lineage_namespace", "lineage_name"], name="registry_dataset_ol_identity"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DatasetVersion(LeasedJob):
    """One uploaded file of a dataset, with its schema (known at upload) and its profile (computed later).

    Guarantees: ``version`` is 1, 2, 3, … per dataset under a row lock; the same file (SHA-256) is one
    version per dataset; the file was checked at upload (UTF-8, header, rectangular rows or a readable
    Parquet file) and the declared target, prediction and sensitive columns exist in ``schema``;
    ``favourable_label``, when declared, is one of the target column's values in the file (with its type:
    an integer label stays an integer, a text label text). The file and declarations never change; only
    the profile fields are filled in by the profiling job, a durable job (``jobs``: claimed with a lease,
    queued again or failed with the reason by the reaper, never left ``running``).
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    role = models.CharField(max_length=20, choices=DatasetRole.choices, default=DatasetRole.OTHER)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.BigIntegerField()
    file_key = models.CharField(max_length=200)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=10, choices=FileFormat.choices)
    schema = models.JSONField(default=list, help_text='[{"name": ..., "type": ...}] in file order.')
    target_column = models.CharField(max_length=200, blank=True)
    prediction_column = models.CharField(max_length=200, blank=True)
    sensitive_columns = models.JSONField(default=list, blank=True)
    # The target value that is the favourable outcome for the person (credit granted: "good"); fairness
    # compares its rate across groups and scores are read as its probability. JSON keeps 1 apart from "1".
    favourable_label = models.JSONField(null=True, blank=True)
    description = models.TextField(blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    profile = models.JSONField(null=True, blank=True)
    profile_status = models.CharField(
        max_length=10, choices=ProfileStatus.choices, default=ProfileStatus.PENDING
    )
    profile_error = models.TextField(blank=True)
    profiled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "dataset__team"

    class Meta:
        ordering = ["dataset_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="registry_dataset_version_number"),
            models.UniqueConstraint(
                fields=["dataset", "file_sha256"], name="registry_dataset_version_digest"
            ),
        ]
        # The file and its declarations are fixed at upload; only the profiling job's columns may change.
        triggers = [
            pgtrigger.ReadOnly(
                name="registry_dataset_version_fixed",
                exclude=[
                    "row_count",
                    "profile",
                    "profile_status",
                    "profile_error",
                    "profiled_at",
                    *LeasedJob.LEASE_FIELDS,
                ],
            ),
            pgtrigger.Protect(name="registry_dataset_version_kept", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name} v{self.version}"
