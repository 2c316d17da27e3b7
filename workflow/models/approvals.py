"""Approval requests and the electronic signatures that complete them (21 CFR Part 11 §11.50, §11.70)."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models


class Environment(models.TextChoices):
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    INVALIDATED = "invalidated", "Invalidated (evidence changed)"
    CANCELLED = "cancelled", "Cancelled"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Meaning(models.TextChoices):
    REVIEW = "review", "Review: I have reviewed the evidence"
    APPROVAL = "approval", "Approval: I approve this version for the environment"
    RESPONSIBILITY = "responsibility", "Responsibility: I take responsibility for this model in use"


class ApprovalRequest(models.Model):
    """A request to approve one model version for one environment under one policy version.

    Guarantees: ``evidence_digest`` is the SHA-256 of the RFC 8785 bytes of ``evidence_manifest``
    (artifact hash, dataset hashes, latest check runs and their result hashes, evidence documents),
    computed when the request was made; signatures sign that digest. ``stage_index`` is the stage now
    open; ``status`` leaves ``pending`` exactly once. At most one pending request per version and
    environment.
    """

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="approvals"
    )
    environment = models.CharField(max_length=20, choices=Environment.choices)
    policy = models.ForeignKey("workflow.Policy", on_delete=models.PROTECT, related_name="approvals")
    stage_keys = models.JSONField(help_text="The policy stages this environment needs, in order.")
    stage_index = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    evidence_manifest = models.JSONField()
    evidence_digest = models.CharField(max_length=64)
    justification = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set when approved: review date.")
    outcome_reason = models.TextField(blank=True)
    # The open stage's due date (its policy's ``due_days`` after it opened); every stage's, as opened, in
    # ``stage_due_dates`` ({stage key: ISO time}).
    stage_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stage_due_dates = models.JSONField(default=dict, blank=True)

    access_team_path = "model_version__model__team"

    AUDIT_OBJECT_TYPE = "governance.approvalrequest"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_approvalrequest"  # the table it had in the governance app
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "environment"],
                condition=models.Q(status="pending"),
                name="governance_one_pending_approval",
            )
        ]

    def __str__(self) -> str:
        return f"approval #{self.pk} {self.model_version} → {self.environment}"

    def segregated_parties(self) -> dict[str, int]:
        """The people the policy forbids from signing: ``{"requester"|"submitter"|"owner": user id}``."""
        version = self.model_version
        everyone = {
            "requester": self.requested_by_id,
            "submitter": version.created_by_id,
            "owner": version.model.owner_id,
        }
        return {party: user_id for party, user_id in everyone.items() if party in self.policy.segregation}

    @property
    def current_stage_key(self) -> str | None:
        keys = self.stage_keys or []
        return keys[self.stage_index] if self.stage_index < len(keys) else None


class AssignmentKind(models.TextChoices):
    DELEGATION = "delegation", "Delegated by the signer"
    REASSIGNMENT = "reassignment", "Reassigned by an administrator"


class StageAssignment(models.Model):
    """A stage of a pending request assigned to a named person: a signer's delegation of their signature
    to a qualified colleague, or an administrator's reassignment.

    ``assignee`` is told the stage waits for them; ``replaces`` (the delegating signer, or whoever the
    administrator took the stage from) may no longer sign that stage of that request. The assignee must
    be someone who may sign the stage (role, team, segregation of duties, not yet signed the request):
    the same rules as a signature, checked when assigned and again when they sign.
    """

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="assignments")
    stage_key = models.CharField(max_length=64)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    replaces = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=AssignmentKind.choices)
    reason = models.TextField()
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "request__model_version__model__team"

    class Meta:
        ordering = ["request_id", "assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "stage_key", "assignee"], name="workflow_stage_assigned_once"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.stage_key} → {self.assignee_id} ({self.kind})"


class Signature(models.Model):
    """An electronic signature on an approval request.

    Records what 21 CFR 11.50 asks: the signer's printed name, the date and time (UTC), and the meaning;
    the signer re-authenticated (password, and TOTP when enrolled) in the same request (§11.200), and the
    signature is bound to the exact evidence digest and policy version (§11.70) by a server Ed25519
    signature over those fields. The database enforces one signature per person per request and that
    the signer is none of requester, submitter and model owner (copied in for the check constraint).
    """

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="signatures")
    stage_key = models.CharField(max_length=64)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=300)
    roles = models.JSONField()
    decision = models.CharField(max_length=10, choices=Decision.choices)
    meaning = models.CharField(max_length=20, choices=Meaning.choices)
    comment = models.TextField(blank=True)
    signed_at = models.DateTimeField()
    auth_method = models.CharField(max_length=80)
    # When the identity provider re-authenticated the signer for this signature (SSO signers only).
    idp_authenticated_at = models.DateTimeField(null=True, blank=True)
    evidence_digest = models.CharField(max_length=64)
    policy_version = models.PositiveIntegerField()
    policy_tier = models.PositiveSmallIntegerField()
    requester_id_at_signing = models.BigIntegerField()
    submitter_id_at_signing = models.BigIntegerField()
    owner_id_at_signing = models.BigIntegerField()
    payload = models.BinaryField(help_text="The RFC 8785 bytes the server signed.")
    server_signature = models.CharField(max_length=128)
    key_id = models.CharField(max_length=64)

    access_team_path = "request__model_version__model__team"

    AUDIT_OBJECT_TYPE = "governance.signature"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_signature"  # the table it had in the governance app
        ordering = ["request_id", "signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "signer"], name="governance_one_signature_per_person"),
            models.CheckConstraint(
                condition=~models.Q(signer_id=models.F("requester_id_at_signing"))
                & ~models.Q(signer_id=models.F("submitter_id_at_signing"))
                & ~models.Q(signer_id=models.F("owner_id_at_signing")),
                name="governance_no_self_approval",
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="governance_signature_final", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.printed_name} {self.decision} ({self.meaning}) on #{self.request_id}"
