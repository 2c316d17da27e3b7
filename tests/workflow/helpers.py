"""Helpers shared by the workflow tests: API calls made as a persona, and records the gate reads."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from monitoring.models import MonitoringAlert, MonitoringPlan
from registry.services import inventory
from tests.factories import PASSWORD
from tests.monitoring import factories
from workflow.models import ApprovalRequest, Policy
from workflow.services import policies as policy_services
from workflow.services.evidence import evidence_manifest, manifest_digest

# The lifecycle moves that take a new model to production (an administrator may make each of them).
TO_PRODUCTION = ("in_development", "in_validation", "approved", "in_production")


def request_approval(api, user, version, environment="production", justification="Ready for release."):
    return api.as_user(user).post(
        reverse("api:approval-list"),
        {
            "model": version.model.name,
            "version": version.version,
            "environment": environment,
            "justification": justification,
        },
        format="json",
    )


def sign(
    api,
    user,
    approval_id: int,
    meaning: str,
    *,
    password: str = PASSWORD,
    decision: str = "approve",
    comment: str = "Reviewed the evidence.",
    totp: str | None = None,
):
    body = {"decision": decision, "meaning": meaning, "comment": comment, "password": password}
    if totp is not None:
        body["totp"] = totp
    return api.as_user(user).post(reverse("api:signature-list", args=[approval_id]), body, format="json")


def gate(api, user, version, environment: str):
    query = {"model": version.model.name, "version": version.version, "environment": environment}
    return api.as_user(user).get(reverse("api:gate"), query)


def error(response) -> dict:
    return response.json()["error"]


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def approved_request(version, environment: str, *, requester, expires_at: dt.datetime | None = None):
    """A completed approval written directly: the gate reads only its status and expiry."""
    policy = Policy.objects.get(tier=version.model.risk_tier, is_active=True)
    manifest = evidence_manifest(version)
    stages = policy.gated_environments.get(environment, [])
    now = timezone.now()
    return ApprovalRequest.objects.create(
        model_version=version,
        environment=environment,
        policy=policy,
        stage_keys=stages,
        stage_index=len(stages),
        status="approved",
        evidence_manifest=manifest,
        evidence_digest=manifest_digest(manifest),
        requested_by=requester,
        completed_at=now,
        expires_at=expires_at or now + dt.timedelta(days=365),
    )


def move_model(admin, model, *statuses: str):
    """Walk the model along its lifecycle as an administrator (who may set the gated statuses)."""
    for status in statuses:
        model = inventory.model_change_status(actor=admin, model=model, status=status, reason="test setup")
    return model


def policy_version(*, tier: int = 1, **overrides) -> Policy:
    """A new active version of the tier's policy: the rules in force with ``overrides`` applied."""
    current = Policy.objects.get(tier=tier, is_active=True)
    rules = {field: getattr(current, field) for field in policy_services.RULE_FIELDS} | overrides
    return policy_services.policy_create_version(actor=None, tier=tier, rules=rules)


def make_alert(actor, version, team, severity="critical"):
    """A monitoring plan's failed run and the alert monitoring records for it."""
    plan = MonitoringPlan.objects.create(
        model_version=version,
        dataset=factories.make_dataset(actor, team, name="production-batches"),
        checks=[{"kind": "drift", "config": {}}],
        interval_seconds=3600,
        created_by=actor,
    )
    from tests.workflow.conftest import record_run

    run = record_run(None, version, "drift", outcome="fail", plan=plan)
    return MonitoringAlert.objects.create(
        plan=plan,
        check_run=run,
        metric="psi (income)",
        value=0.41,
        threshold=0.25,
        severity=severity,
        message="PSI of income is 0.41, at least 0.25",
    )
