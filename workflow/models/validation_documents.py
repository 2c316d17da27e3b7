"""Validation documents authored in Attest: the template a policy asks for, and the document per version.

A :class:`ValidationTemplate` belongs to a policy version and is used by that version and every later
version of the same tier until one of them has its own (``workflow.services.validation_documents.
template_for``); a policy with none anywhere uses the built-in default. ``sections`` is data:
``[{"key", "title", "guidance", "required", "live_blocks": [{"check": "<kind>"}]}]`` — a live block embeds
the results table of the version's run of that check kind, by reference (never copied into the text).

A :class:`ValidationDocument` is the one document of a model version: its ``content`` (section texts,
commentary and effective-challenge notes per section and per check run, the overall rating and its
conditions) at ``revision``, and ``content_sha256`` over the RFC 8785 bytes of that content. Every save
that changes the content appends a :class:`ValidationDocumentRevision` (append-only in the database) and
increments ``revision``; an approval request freezes the revision and digest into its evidence manifest.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models


class Rating(models.TextChoices):
    SATISFACTORY = "satisfactory", "Satisfactory"
    WITH_CONDITIONS = "satisfactory_with_conditions", "Satisfactory with conditions"
    UNSATISFACTORY = "unsatisfactory", "Unsatisfactory"


class ValidationTemplate(models.Model):
    """The sections a validation document has under a policy (and later versions of its tier)."""

    policy = models.OneToOneField(
        "workflow.Policy", on_delete=models.PROTECT, related_name="validation_template"
    )
    title = models.CharField(max_length=200)
    sections = models.JSONField(
        default=list,
        help_text='[{"key": "scope", "title": "Scope", "guidance": "…", "required": true, '
        '"live_blocks": [{"check": "performance"}]}]',
    )
    required_for_approval = models.BooleanField(
        default=False,
        help_text="An approval is requested only when the version's validation document is complete "
        "(every required section written, a rating given, conditions for a conditional rating).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access_all_roles_read = True

    class Meta:
        db_table = "governance_validationtemplate"  # the workflow's tables keep the governance_ prefix
        ordering = ["policy__tier", "-policy__version"]

    def __str__(self) -> str:
        return f"{self.title} ({self.policy})"


class ValidationDocument(models.Model):
    """The validation document of one model version, at its latest revision."""

    model_version = models.OneToOneField(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="validation_document"
    )
    template_title = models.CharField(max_length=200)
    template_sections = models.JSONField(
        help_text="The template's sections when the document was started (later template edits do not "
        "reshape a document already written)."
    )
    revision = models.PositiveIntegerField(default=0)
    content = models.JSONField(default=dict)
    content_sha256 = models.CharField(max_length=64, blank=True)
    rating = models.CharField(max_length=40, choices=Rating.choices, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    access_team_path = "model_version__model__team"

    class Meta:
        db_table = "governance_validationdocument"
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"validation document of {self.model_version} (revision {self.revision})"


class ValidationDocumentRevision(models.Model):
    """One saved state of a validation document; never changed or deleted."""

    document = models.ForeignKey(ValidationDocument, on_delete=models.PROTECT, related_name="revisions")
    revision = models.PositiveIntegerField()
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    changed = models.JSONField(default=list, help_text="What this revision changed, in words.")

    access_team_path = "document__model_version__model__team"

    class Meta:
        db_table = "governance_validationdocumentrevision"
        ordering = ["document_id", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["document", "revision"], name="validation_revision_once")
        ]
        triggers = [
            pgtrigger.Protect(name="validation_revision_final", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"revision {self.revision} of {self.document}"
