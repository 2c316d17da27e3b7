"""Policies per risk tier, the control catalogue they map to, and evidence documents.

A policy is versioned: editing one creates a new version and activates it; old versions are kept
because approval requests and signatures point at the exact version they were made under.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Framework(models.Model):
    """A regulatory or standards framework whose controls evidence maps to (SR 11-7, EU AI Act, …)."""

    key = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=300)
    source = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)

    access_all_roles_read = True

    AUDIT_OBJECT_TYPE = "governance.framework"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_framework"  # the table it had in the governance app
        ordering = ["key"]

    def __str__(self) -> str:
        return self.title


class Control(models.Model):
    """One control of a framework and what satisfies it.

    ``satisfied_by`` is data, e.g. ``{"checks": ["fairness"], "evidence": ["risk_assessment"],
    "inventory": ["purpose"], "approval": true, "monitoring_plan": true, "audit": true, "lineage": true}``:
    every listed criterion must hold for the control to be satisfied for a model version.
    """

    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="controls")
    key = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    satisfied_by = models.JSONField(default=dict)

    access_all_roles_read = True

    AUDIT_OBJECT_TYPE = "governance.control"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_control"  # the table it had in the governance app
        ordering = ["framework__key", "key"]
        constraints = [models.UniqueConstraint(fields=["framework", "key"], name="governance_control_key")]

    def __str__(self) -> str:
        return f"{self.framework.key} {self.key}"


class EvidenceType(models.Model):
    """A kind of evidence document (conceptual-soundness memo, data review, …), keyed by its slug."""

    key = models.SlugField(max_length=64, primary_key=True)
    title = models.CharField(max_length=300)

    access_all_roles_read = True

    AUDIT_OBJECT_TYPE = "governance.evidencetype"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_evidencetype"  # the table it had in the governance app
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class EvidenceChange(models.TextChoices):
    """What the gate does when material evidence arrives after an approval."""

    CLOSE_GATE = "close_gate", "Close the gate until a new approval"
    WARN = "warn", "Keep the gate open and warn"


class Policy(models.Model):
    """The rules for one risk tier, at one version.

    ``required_checks``: ``[{"kind": "drift", "metric": "psi", "max": 0.25}, {"kind": "fairness",
    "metric": "demographic_parity_ratio", "min": 0.8}, {"kind": "performance", "metric": "roc_auc",
    "min": 0.7}]`` — a check kind with optional metric bounds the latest run must meet.
    ``required_evidence``: evidence type keys. ``stages``: ordered ``[{"key", "title", "role", "quorum",
    "meaning"}]``. ``gated_environments``: ``{"staging": ["validation"], "production": ["validation",
    "risk", "owner"]}`` — the stages an approval for that environment must pass.
    ``environment_promotions``: ``{"production": ["staging"]}`` — an approval for the key also covers the
    listed environments at the gate (its stages include every stage they need).
    Each stage may carry ``due_days`` (1-90, default 5): how long it may stay open before it is overdue.
    ``segregation``: who may never sign (``requester``, ``submitter``, ``owner``).
    ``evidence_change``: what the gate does when material evidence arrives after an approval (a new
    warning or failing run of a required check, a new required document): close it or warn.
    ``red_team_required`` / ``red_team_tolerance``: a red-team run is required evidence; an approval is
    refused when the version's attack success rate in an OWASP category exceeds the latest approved
    version's by more than the tolerance (workflow.services.red_team).
    ``judged_metric_minimums`` / ``judge_kappa_minimum``: judged evaluation metrics the version needs, with
    their lowest mean score, and the judge's least agreement with people (workflow.services.judged).
    ``model_wide_findings``: finding sources that block every version of the model; any other finding
    blocks only the version it was raised on (and a finding on no version blocks them all).
    """

    tier = models.PositiveSmallIntegerField()
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=False)
    required_checks = models.JSONField(default=list)
    required_evidence = models.JSONField(default=list)
    stages = models.JSONField(default=list)
    gated_environments = models.JSONField(default=dict)
    segregation = models.JSONField(default=list)
    environment_promotions = models.JSONField(
        default=dict,
        blank=True,
        help_text='Environment → the gated environments its approval also covers, e.g. {"production": '
        '["staging"]}: a valid production approval then opens the gate to staging.',
    )
    red_team_required = models.BooleanField(
        default=False,
        help_text="An approval needs an imported red-team run (garak or promptfoo) on the version.",
    )
    red_team_tolerance = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="How much worse (0-1, absolute) a version's attack success rate in any OWASP category may "
        "be than the latest approved version's before its approval is refused.",
    )
    judged_metric_minimums = models.JSONField(
        default=dict,
        blank=True,
        help_text='Judged evaluation metrics an approval needs, with the lowest mean score: {"Faithfulness": '
        "0.8}.",
    )
    judge_kappa_minimum = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-1.0), MaxValueValidator(1.0)],
        help_text="When set, each required judged metric needs a human-labelled sample on which the judge's "
        "Cohen's kappa is at least this.",
    )
    review_frequency_months = models.PositiveSmallIntegerField(default=12)
    approval_valid_months = models.PositiveSmallIntegerField(default=12)
    blocking_finding_severity = models.CharField(max_length=10, default="high")
    review_trigger_severity = models.CharField(max_length=10, default="high")
    evidence_change = models.CharField(
        max_length=10, choices=EvidenceChange.choices, default=EvidenceChange.WARN
    )
    model_wide_findings = models.JSONField(
        default=list,
        blank=True,
        help_text="Finding sources (check, monitoring, review) that block every version of the model, "
        "not only the version they were raised on.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access_all_roles_read = True

    AUDIT_OBJECT_TYPE = "governance.policy"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_policy"  # the table it had in the governance app
        ordering = ["tier", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "version"], name="governance_policy_version"),
            models.UniqueConstraint(
                fields=["tier"], condition=models.Q(is_active=True), name="governance_policy_one_active"
            ),
            models.CheckConstraint(
                condition=models.Q(red_team_tolerance__gte=0.0, red_team_tolerance__lte=1.0),
                name="governance_policy_red_team_tolerance_range",
            ),
            models.CheckConstraint(
                condition=models.Q(judge_kappa_minimum__isnull=True)
                | models.Q(judge_kappa_minimum__gte=-1.0, judge_kappa_minimum__lte=1.0),
                name="governance_policy_judge_kappa_range",
            ),
        ]

    def __str__(self) -> str:
        return f"tier {self.tier} policy v{self.version}"

    def stage(self, key: str) -> dict | None:
        return next((stage for stage in self.stages if stage["key"] == key), None)


class EvidenceDocument(models.Model):
    """A supporting document for a model version (memo, review, assessment), stored by SHA-256."""

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="evidence"
    )
    evidence_type = models.ForeignKey(EvidenceType, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=300)
    file_name = models.CharField(max_length=255)
    file_key = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "model_version__model__team"

    AUDIT_OBJECT_TYPE = "governance.evidencedocument"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_evidencedocument"  # the table it had in the governance app
        ordering = ["model_version_id", "evidence_type__key", "uploaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "sha256"], name="governance_evidence_once")
        ]
        triggers = [
            pgtrigger.Protect(name="governance_evidence_fixed", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.evidence_type_id}: {self.title}"
