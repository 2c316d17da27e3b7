"""Model versions, their immutable artifacts, and aliases that point at versions."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models

from registry.models.inventory import RegisteredModel


class ArtifactFormat(models.TextChoices):
    ONNX = "onnx", "ONNX"
    SKOPS = "skops", "skops"
    XGBOOST_JSON = "xgboost-json", "XGBoost JSON"
    XGBOOST_UBJ = "xgboost-ubj", "XGBoost UBJSON"
    LIGHTGBM_TXT = "lightgbm-txt", "LightGBM text"
    PICKLE = "pickle", "pickle / joblib (stored, never loaded)"
    OTHER = "other", "Other (stored, never loaded)"
    LLM_BUNDLE = "llm-bundle", "LLM application bundle (no artifact)"


class ModelVersion(models.Model):
    """One submitted version of a model: an artifact plus what it was built from.

    Guarantees: ``version`` is 1, 2, 3, … per model, assigned by the server under a row lock on the
    model; a (model, artifact digest) pair exists at most once, so a re-submission finds the existing
    row; nothing here changes after submission (a change is a new version). The artifact lives in
    storage under ``artifact_key``, a name derived from its SHA-256 only; ``artifact_filename`` is the
    client's name, sanitised, for display. ``artifact_executable`` is false for pickle, joblib and
    unrecognised files, which are stored as opaque blobs and never loaded.
    Training/validation datasets and the parent version are lineage edges.

    A version of an LLM application (``model.kind == "llm_application"``) has no artifact: ``bundle`` holds
    its components and their digests (``registry.bundles``), ``artifact_format`` is ``llm-bundle``,
    ``artifact_sha256`` is the bundle digest (so the same bundle finds the same version), ``artifact_size``
    0 and ``artifact_key`` empty.
    """

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    artifact_sha256 = models.CharField(max_length=64)
    artifact_size = models.BigIntegerField()
    artifact_key = models.CharField(max_length=200)
    artifact_filename = models.CharField(max_length=255)
    artifact_format = models.CharField(max_length=20, choices=ArtifactFormat.choices)
    artifact_executable = models.BooleanField()
    artifact_details = models.JSONField(default=dict, blank=True)
    bundle = models.JSONField(default=dict, blank=True)
    framework = models.CharField(max_length=100, blank=True)
    framework_version = models.CharField(max_length=50, blank=True)
    # MLflow ModelVersion fields
    description = models.TextField(blank=True)
    source = models.CharField(max_length=1000, blank=True)
    run_id = models.CharField(max_length=200, blank=True, db_index=True)
    run_link = models.URLField(max_length=1000, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    signature = models.JSONField(default=dict, blank=True, help_text='{"inputs": [...], "outputs": [...]}')
    source_repository = models.CharField(max_length=500, blank=True)
    source_commit = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, default="submitted", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "model__team"

    class Meta:
        ordering = ["model_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="registry_version_number"),
            models.UniqueConstraint(fields=["model", "artifact_sha256"], name="registry_version_digest"),
        ]
        # Immutable once submitted, enforced by the database too (not only by the absence of a service).
        triggers = [
            pgtrigger.Protect(
                name="registry_version_immutable", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.version}"

    @property
    def is_bundle(self) -> bool:
        return self.artifact_format == ArtifactFormat.LLM_BUNDLE


class ModelAlias(models.Model):
    """A named pointer (``champion``, ``challenger``, …) from a model to one of its versions.

    Moving an alias is an audited service call that records the version before and after.
    """

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="aliases")
    name = models.SlugField(max_length=64)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    access_team_path = "model__team"

    class Meta:
        ordering = ["model_id", "name"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="registry_alias_name")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.name}"
