"""The deployment gate and deployment records.

``gate_evaluate`` answers CI's question "may version N of model M go to environment E?" with the
reasons when it may not. A deployment is recorded only when the gate allows it at that moment (under
a lock on the version, so two racing deployments see the same answer); rollbacks are recorded too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.errors import GateClosed, InvalidTransition
from accounts.models import User
from audit import record
from registry.models import ModelVersion
from registry.models.inventory import ModelStatus
from registry.services.inventory import model_status_set_by_workflow
from workflow.models import (
    ApprovalRequest,
    ApprovalStatus,
    Deployment,
    DeploymentStatus,
    Environment,
    EvidenceChange,
    Strategy,
)
from workflow.services.approvals import blocking_findings, model_deadlines
from workflow.services.evidence import material_changes, signed_evidence
from workflow.services.policies import policy_active

DEADLINE_REASONS = {
    "review_overdue": "the model's periodic review was due on {day}; its approval lapsed with it",
    "validity_ended": "the model was valid until {day}; its approval lapsed with it",
}
CLOSED_STATUSES = {
    ModelStatus.UNDER_REVIEW: "the model is under review",
    ModelStatus.RETIRED: "the model is retired",
}
# Gated environments take a model that has at least reached validation.
NOT_VALIDATED = {
    ModelStatus.DRAFT: "the model is a draft: a gated environment takes a model in validation or later",
    ModelStatus.IN_DEVELOPMENT: "the model is in development: a gated environment takes a model in validation or later",
}


# The digest a deployer may send: 64 hex digits, optionally prefixed ``sha256:`` (an OCI-style reference).
DIGEST_PATTERN = r"^(sha256:)?[0-9a-fA-F]{64}$"


def shipped_digest(digest: str) -> str:
    """A deployer's digest as the version's is stored: hex, lower case, without ``sha256:``."""
    return digest.strip().lower().removeprefix("sha256:")


def shipped_digest_problem(version: ModelVersion, digest: str) -> str:
    """Why ``digest`` (what a deployer is about to ship) is not the version's, or '' when it is."""
    given = shipped_digest(digest)
    if not given or given == version.artifact_sha256:
        return ""
    what = "bundle digest" if version.is_bundle else "artifact SHA-256"
    return (
        f"the digest you are about to ship ({given}) differs from the approved version's: "
        f"{version.model.name} v{version.version} has the {what} {version.artifact_sha256}"
    )


@dataclass
class GateDecision:
    """The gate's answer. ``reasons`` are sentences; ``codes`` the same reasons as stable machine codes.

    ``approval`` is the approval the answer rests on and ``approval_digest`` the evidence digest its
    signers signed; ``evidence_changes`` lists material evidence that arrived since (the policy decides
    whether that closes the gate or only ``warnings`` carry it).
    """

    allowed: bool
    reasons: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    approval: ApprovalRequest | None = None
    expires_at: dt.datetime | None = None
    evidence_changes: list[str] = field(default_factory=list)
    # The environment ``approval`` was given for: this one, or one whose approval covers it by the policy's
    # ``environment_promotions`` (a production approval covering staging).
    approval_environment: str = ""

    def refuse(self, code: str, reason: str) -> None:
        self.allowed = False
        self.codes.append(code)
        self.reasons.append(reason)

    @property
    def evidence_changed(self) -> bool:
        return bool(self.evidence_changes)

    @property
    def approval_digest(self) -> str:
        return self.approval.evidence_digest if self.approval is not None else ""


def environment_key(environment: str) -> str:
    """Environments compare in lower case: policies gate 'production', and 'Production' from a CI
    script must not pass as an environment no policy gates."""
    return environment.strip().lower()


def gate_evaluate(
    *, version: ModelVersion, environment: str, now: dt.datetime | None = None, digest: str = ""
) -> GateDecision:
    """Allowed only with a complete, unexpired approval of this version for this environment (when the
    policy gates it), no open blocking finding, and a model that is neither under review nor retired.
    With ``digest`` (what the deployer is about to ship), also only when it is the version's bundle digest
    or artifact SHA-256, in every environment."""
    now = now or timezone.now()
    environment = environment_key(environment)
    model = version.model
    decision = GateDecision(allowed=True)
    mismatch = shipped_digest_problem(version, digest)
    if mismatch:
        decision.refuse("digest_mismatch", mismatch)
    if model.status in CLOSED_STATUSES:
        decision.refuse(f"model_{model.status}", CLOSED_STATUSES[model.status])
    policy = policy_active(tier=model.risk_tier)
    for finding in blocking_findings(version, policy):
        decision.refuse(
            "blocking_finding", f"finding {finding.pk} ({finding.severity}) is open: {finding.title}"
        )
    if policy.gated_environments.get(environment):
        if model.status in NOT_VALIDATED:
            decision.refuse("model_not_validated", NOT_VALIDATED[model.status])
        covering = covering_environments(policy, environment)
        current = _check_approval(decision, version, environment, now, covering)
        if current is not None:
            _check_evidence_since(decision, version, current, policy)
    return decision


def covering_environments(policy, environment: str) -> list[str]:
    """The environments whose approval opens the gate to ``environment``: itself first, then those the
    policy's ``environment_promotions`` say cover it (``{"production": ["staging"]}``)."""
    promotions = policy.environment_promotions or {}
    return [environment, *sorted(name for name, covered in promotions.items() if environment in covered)]


@dataclass
class EnvironmentGate:
    """The gate's answer for one environment of a version, as the version page shows it."""

    environment: str
    gated: bool
    decision: GateDecision
    covered_by: list[str]  # environments whose approval would also open this one (the policy's promotions)

    @property
    def through_promotion(self) -> bool:
        return (
            bool(self.decision.approval_environment)
            and self.decision.approval_environment != self.environment
        )


def gate_by_environment(*, version: ModelVersion, now: dt.datetime | None = None) -> list[EnvironmentGate]:
    """``gate_evaluate`` for every environment the active policy names (gated ones, in the policy's order,
    then the known environments it leaves ungated): the same answers ``GET /api/v1/gate/`` gives."""
    now = now or timezone.now()
    policy = policy_active(tier=version.model.risk_tier)
    names = list(policy.gated_environments) + [
        name for name in Environment.values if name not in policy.gated_environments
    ]
    return [
        EnvironmentGate(
            environment=name,
            gated=bool(policy.gated_environments.get(name)),
            decision=gate_evaluate(version=version, environment=name, now=now),
            covered_by=covering_environments(policy, name)[1:],
        )
        for name in names
    ]


def _check_approval(
    decision: GateDecision,
    version: ModelVersion,
    environment: str,
    now: dt.datetime,
    covering: list[str] | None = None,
) -> ApprovalRequest | None:
    """The unexpired approval the gate rests on (None, with the refusal recorded, when there is none):
    the newest valid approval for this environment or for one that covers it (``covering``)."""
    covering = covering or [environment]
    approvals = ApprovalRequest.objects.filter(
        model_version=version, environment__in=covering, status=ApprovalStatus.APPROVED
    ).order_by("-completed_at", "-pk")
    current = next(
        (approval for approval in approvals if approval.expires_at and approval.expires_at > now), None
    )
    if current is not None:
        _check_deadlines(decision, current, version.model, now)
        decision.approval_environment = current.environment
        return current
    expired = approvals.first()
    if expired is not None:
        decision.approval, decision.expires_at = expired, expired.expires_at
        decision.approval_environment = expired.environment
        decision.refuse(
            "approval_expired",
            f"the approval for {expired.environment} expired on {expired.expires_at:%Y-%m-%d}",
        )
    else:
        others = covering[1:]
        also = f" (nor for {', '.join(others)}, whose approval would cover it)" if others else ""
        decision.refuse("no_approval", f"no completed approval of {version} for {environment}{also}")
    return None


def _check_evidence_since(
    decision: GateDecision, version: ModelVersion, approval: ApprovalRequest, policy
) -> None:
    """Material evidence that arrived after the approval: the policy closes the gate or warns."""
    changes = material_changes(signed_evidence(version, approval), policy)
    decision.evidence_changes = changes
    if not changes:
        return
    summary = f"the evidence changed since approval #{approval.pk} was signed: {'; '.join(changes)}"
    if policy.evidence_change == EvidenceChange.CLOSE_GATE:
        decision.refuse(
            "evidence_changed_since_approval",
            f"{summary}. Tier {policy.tier} policy v{policy.version} closes the gate until a new approval.",
        )
    else:
        decision.warnings.append(
            f"{summary}. Review it; tier {policy.tier} policy v{policy.version} keeps the gate open."
        )


def _check_deadlines(decision: GateDecision, approval: ApprovalRequest, model, now: dt.datetime) -> None:
    """The model's review date or valid-until may have moved earlier since the approval was given
    (its expiry was capped by them then): the approval lapses with them."""
    deadlines = model_deadlines(model)
    decision.approval = approval
    decision.expires_at = min([approval.expires_at, *deadlines.values()])
    for code, deadline in deadlines.items():
        if deadline <= now:
            decision.refuse(code, DEADLINE_REASONS[code].format(day=deadline.date().isoformat()))


def deployment_record(
    *,
    actor: User,
    version: ModelVersion,
    environment: str,
    strategy: str = Strategy.FULL,
    traffic_percent: int = 100,
    note: str = "",
    digest: str = "",
) -> Deployment:
    """Record a deployment the gate allows; refused (409, audited) with the gate's reasons otherwise.
    ``digest`` (optional) is what is being shipped, checked as ``gate_evaluate`` checks it."""
    access.require(actor, "deploy", version.model)
    _check_strategy(strategy, traffic_percent)
    environment = environment_key(environment)
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        decision = gate_evaluate(version=version, environment=environment, digest=digest)
        if decision.allowed:
            deployment = _create(
                actor, version, environment, strategy, traffic_percent, note, decision, shipped_digest(digest)
            )
    if not decision.allowed:
        with transaction.atomic():
            record(
                action="deployment.refused",
                actor=actor,
                obj=version,
                after={"environment": environment, "reasons": decision.reasons},
            )
        raise GateClosed(
            "The deployment gate is closed for this version.",
            details={"reasons": decision.reasons, "codes": decision.codes},
        )
    return deployment


def _check_strategy(strategy: str, traffic_percent: int) -> None:
    if strategy not in Strategy.values:
        raise ValidationError({"strategy": [f"Must be one of {', '.join(Strategy.values)}."]})
    if not 1 <= traffic_percent <= 100:
        raise ValidationError({"traffic_percent": ["Between 1 and 100."]})
    if strategy == Strategy.CANARY and traffic_percent == 100:
        raise ValidationError({"traffic_percent": ["A canary takes part of the traffic (1-99)."]})


def _create(
    actor, version, environment, strategy, traffic_percent, note, decision: GateDecision, shipped: str
) -> Deployment:
    if strategy in (Strategy.FULL, Strategy.BLUE_GREEN):
        superseded = Deployment.objects.filter(
            model_version__model=version.model, environment=environment, status=DeploymentStatus.ACTIVE
        ).exclude(model_version=version)
        for previous in superseded:
            previous.status = DeploymentStatus.SUPERSEDED
            previous.save(update_fields=["status"])
    deployment = Deployment.objects.create(
        model_version=version,
        environment=environment,
        strategy=strategy,
        traffic_percent=100 if strategy in (Strategy.FULL, Strategy.BLUE_GREEN) else traffic_percent,
        approval=decision.approval,
        note=note,
        shipped_digest=shipped,
        deployed_by=actor,
    )
    record(action="deployment.recorded", actor=actor, obj=deployment, after=deployment_facts(deployment))
    if environment == "production" and version.model.status == ModelStatus.APPROVED:
        model_status_set_by_workflow(
            model=version.model,
            status=ModelStatus.IN_PRODUCTION,
            reason=f"deployment {deployment.pk} recorded",
        )
    return deployment


def deployment_rollback(*, actor: User, deployment: Deployment, reason: str) -> Deployment:
    access.require(actor, "deploy", deployment.model_version.model)
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the deployment is rolled back."]})
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        if deployment.status != DeploymentStatus.ACTIVE:
            raise InvalidTransition(
                f"This deployment is {deployment.status}; only an active one can be rolled back."
            )
        deployment.status = DeploymentStatus.ROLLED_BACK
        deployment.rolled_back_by, deployment.rolled_back_at = actor, timezone.now()
        deployment.rollback_reason = reason
        deployment.save(update_fields=["status", "rolled_back_by", "rolled_back_at", "rollback_reason"])
        record(
            action="deployment.rolled_back",
            actor=actor,
            obj=deployment,
            after=deployment_facts(deployment),
            reason=reason,
        )
    return deployment


def deployment_facts(deployment: Deployment) -> dict[str, Any]:
    return {
        "model": deployment.model_version.model.name,
        "version": deployment.model_version.version,
        "environment": deployment.environment,
        "strategy": deployment.strategy,
        "traffic_percent": deployment.traffic_percent,
        "approval": deployment.approval_id,
        "status": deployment.status,
        "shipped_digest": deployment.shipped_digest,
    }
