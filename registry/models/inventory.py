"""The model inventory: registered models and the risk-tiering rule that grades them.

A RegisteredModel carries the inventory fields a model-risk supervisor asks for (SR 11-7 / OCC 2011-12
model inventory, EU AI Act Annex IV section 1): what it is for and must not be used for, who owns and
develops it, how risky it is and why, whether a third party supplied it, where it is in its life and when
it must next be reviewed. Rows change only through ``registry.services``; the status and tier columns in
particular have their own services so that every move is audited with its reason.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class ModelStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_DEVELOPMENT = "in_development", "In development"
    IN_VALIDATION = "in_validation", "In validation"
    APPROVED = "approved", "Approved"
    IN_PRODUCTION = "in_production", "In production"
    UNDER_REVIEW = "under_review", "Under review"
    RETIRED = "retired", "Retired"


# Lifecycle moves the registry allows; anything else is refused with the list of allowed targets.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    ModelStatus.DRAFT: frozenset({ModelStatus.IN_DEVELOPMENT, ModelStatus.RETIRED}),
    ModelStatus.IN_DEVELOPMENT: frozenset({ModelStatus.IN_VALIDATION, ModelStatus.RETIRED}),
    ModelStatus.IN_VALIDATION: frozenset(
        {ModelStatus.IN_DEVELOPMENT, ModelStatus.APPROVED, ModelStatus.RETIRED}
    ),
    ModelStatus.APPROVED: frozenset(
        {ModelStatus.IN_PRODUCTION, ModelStatus.IN_DEVELOPMENT, ModelStatus.RETIRED}
    ),
    ModelStatus.IN_PRODUCTION: frozenset({ModelStatus.UNDER_REVIEW, ModelStatus.RETIRED}),
    ModelStatus.UNDER_REVIEW: frozenset(
        {ModelStatus.IN_PRODUCTION, ModelStatus.IN_DEVELOPMENT, ModelStatus.RETIRED}
    ),
    ModelStatus.RETIRED: frozenset(),
}


class RiskTier(models.IntegerChoices):
    HIGH = 1, "Tier 1 (high)"
    MEDIUM = 2, "Tier 2 (medium)"
    LOW = 3, "Tier 3 (low)"


class EUAIActCategory(models.TextChoices):
    NOT_ASSESSED = "not_assessed", "Not assessed"
    PROHIBITED = "prohibited", "Prohibited practice (Art. 5)"
    HIGH_RISK = "high_risk", "High-risk (Art. 6, Annex III)"
    LIMITED_RISK = "limited_risk", "Limited risk (transparency, Art. 50)"
    MINIMAL_RISK = "minimal_risk", "Minimal risk"
    GPAI = "gpai", "General-purpose AI model"
    OUT_OF_SCOPE = "out_of_scope", "Not an AI system under the Act"


class ModelKind(models.TextChoices):
    ML_MODEL = "ml_model", "Machine-learning model"
    LLM_APPLICATION = "llm_application", "LLM application"


class AutonomyLevel(models.TextChoices):
    NOT_STATED = "", "Not stated"
    ASSISTIVE = "assistive", "Assistive (a person decides; the system suggests)"
    HUMAN_IN_THE_LOOP = "human_in_the_loop", "Human in the loop (a person approves each action)"
    HUMAN_ON_THE_LOOP = "human_on_the_loop", "Human on the loop (a person monitors and can intervene)"
    AUTONOMOUS = "autonomous", "Autonomous (acts without a person)"


class TieringRule(models.Model):
    """One version of the risk-tiering rule. The newest row is in force; rows are never edited.

    ``weights`` maps each questionnaire factor to a weight; answers score low=1, medium=2, high=3; a
    weighted sum at or above ``thresholds["tier1"]`` is tier 1, at or above ``thresholds["tier2"]`` tier 2,
    otherwise tier 3. ``floors`` then raises the tier for single answers, e.g.
    ``{"regulatory_exposure": {"high": 1}}``: a high regulatory exposure is always tier 1.
    """

    version = models.PositiveIntegerField(unique=True)
    weights = models.JSONField()
    thresholds = models.JSONField()
    floors = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"tiering rule v{self.version}"


class RegisteredModel(models.Model):
    """An inventory entry. ``name`` is the stable natural key used in URLs and by CI.

    Guarantees: ``risk_tier`` is the override when one is set, otherwise the tier computed from
    ``tier_answers`` under ``tier_rule``; an override always has a reason. ``status`` only moves along
    ``ALLOWED_TRANSITIONS``. Upstream model dependencies are lineage edges (``registry.models.lineage``).
    ``favourable_label`` is null or an integer or text label; ``prohibited_features`` a list of distinct,
    non-empty feature names (both checked by ``registry.services.declarations``).
    """

    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # SR 11-7 / Annex IV 1(a): intended purpose and use, and what it must not be used for
    purpose = models.TextField(blank=True)
    intended_use = models.TextField(blank=True)
    out_of_scope_use = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    business_line = models.CharField(max_length=200, blank=True)
    # Annex IV 1(b)-(h): how the system interacts with its environment and who is affected
    deployment_context = models.TextField(blank=True)
    affected_persons = models.TextField(blank=True)
    # What the model is: an ordinary model (versions are artifacts) or an LLM application (versions are
    # bundles of foundation model, prompts, corpus, tools and guardrails: registry.bundles)
    kind = models.CharField(max_length=20, choices=ModelKind.choices, default=ModelKind.ML_MODEL)
    # AI-system inventory (EU AI Act Art. 13/14, NIST AI 600-1): who uses it, how people oversee it
    intended_users = models.TextField(blank=True)
    human_oversight = models.TextField(blank=True)
    autonomy_level = models.CharField(
        max_length=20, choices=AutonomyLevel.choices, default=AutonomyLevel.NOT_STATED, blank=True
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_models")
    team = models.ForeignKey("governance.Team", on_delete=models.PROTECT, related_name="models")
    # risk: questionnaire, computed tier, optional override
    tier_answers = models.JSONField(default=dict)
    tier_rule = models.ForeignKey(TieringRule, null=True, on_delete=models.PROTECT, related_name="+")
    computed_tier = models.PositiveSmallIntegerField(choices=RiskTier.choices)
    tier_override = models.PositiveSmallIntegerField(choices=RiskTier.choices, null=True, blank=True)
    tier_override_reason = models.TextField(blank=True)
    risk_tier = models.PositiveSmallIntegerField(choices=RiskTier.choices, db_index=True)
    eu_ai_act_category = models.CharField(
        max_length=20, choices=EUAIActCategory.choices, default=EUAIActCategory.NOT_ASSESSED
    )
    # third-party models (SR 11-7 "vendor and other third-party products")
    is_third_party = models.BooleanField(default=False)
    vendor = models.CharField(max_length=200, blank=True)
    # What checks need to know about the model's outcome and inputs: the target value that is favourable
    # for the person (used when the dataset declares none) and the features it must not rely on.
    favourable_label = models.JSONField(null=True, blank=True)
    prohibited_features = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=ModelStatus.choices, default=ModelStatus.DRAFT)
    review_frequency_months = models.PositiveSmallIntegerField(default=12)
    last_reviewed_on = models.DateField(null=True, blank=True)
    next_review_due = models.DateField(null=True, blank=True, db_index=True)
    valid_until = models.DateField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True, help_text="MLflow-style string tags: {key: value}.")
    # OpenLineage: the job whose run events describe this model's pipeline
    lineage_namespace = models.CharField(max_length=200, default="attest")
    lineage_job = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access_team_path = "team"

    class Meta:
        ordering = ["name"]
        indexes = [
            GinIndex(fields=["tags"], name="registry_model_tags_gin"),
            models.Index(fields=["team", "name"], name="registry_model_team_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lineage_namespace", "lineage_job"], name="registry_model_ol_job"
            ),
            models.CheckConstraint(
                condition=models.Q(tier_override__isnull=True) | ~models.Q(tier_override_reason=""),
                name="registry_model_override_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TierChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending a risk officer's decision"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class TierChange(models.Model):
    """Questionnaire answers that would lower a model's risk tier, held until a risk officer decides.

    A lower tier means a lighter policy (fewer checks, fewer signatures, longer reviews), so the first line
    cannot lower its own model's tier: ``model_update`` records the answers here and leaves the model as
    it was; accepting applies them (audited), rejecting keeps the tier (audited, with the reason). Raising
    the tier applies at once and never comes here. At most one pending change per model.
    """

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="tier_changes")
    answers = models.JSONField()
    rule = models.ForeignKey(TieringRule, on_delete=models.PROTECT, related_name="+")
    current_tier = models.PositiveSmallIntegerField(choices=RiskTier.choices)
    proposed_tier = models.PositiveSmallIntegerField(choices=RiskTier.choices)
    status = models.CharField(
        max_length=10, choices=TierChangeStatus.choices, default=TierChangeStatus.PENDING
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    access_team_path = "model__team"

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["model"],
                condition=models.Q(status="pending"),
                name="registry_one_pending_tier_change",
            )
        ]

    def __str__(self) -> str:
        return f"tier change of {self.model_id}: {self.current_tier} -> {self.proposed_tier} ({self.status})"
