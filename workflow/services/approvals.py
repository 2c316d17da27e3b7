"""Approval requests and electronic signatures.

A request binds a version, an environment, the policy version in force and the digest of the evidence.
Signers re-authenticate, hold the open stage's role, are none of the parties the policy segregates
(requester, submitter, model owner), and sign once per request; stages complete in order when their
quorum of distinct people has approved; any rejection ends the request; changed evidence invalidates it.
Every refused attempt is audited in its own committed transaction before the refusal is raised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import rfc8785
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts import access, context
from accounts.errors import (
    EvidenceChanged,
    InvalidTransition,
    NotGated,
    PrerequisitesMissing,
    ReauthenticationFailed,
    RequestClosed,
    SignatureRefused,
)
from accounts.models import User
from accounts.services import federation, lockout, totp
from audit import keys as signing_keys
from audit import record
from registry.models import ModelVersion, RegisteredModel
from registry.models.inventory import ModelStatus
from registry.services.inventory import model_status_set_by_workflow
from workflow.models import (
    ApprovalRequest,
    ApprovalStatus,
    Decision,
    EvidenceDocument,
    Finding,
    FindingStatus,
    NotificationKind,
    Policy,
    Signature,
    StageAssignment,
)
from workflow.models.findings import SEVERITY_RANK
from workflow.policy_scope import checks_for
from workflow.services import inbox, judged, notifications, red_team, validation_documents
from workflow.services.evidence import evidence_manifest, latest_check_runs, manifest_digest
from workflow.services.policies import DEFAULT_STAGE_DUE_DAYS, mandatory_kinds, policy_active
from workflow.thresholds import policy_bounds

PASSING_OUTCOMES = {"pass", "warn"}
# Where in its lifecycle a model may be when a version is put up for approval.
APPROVABLE_STATUSES = frozenset(
    {ModelStatus.IN_VALIDATION, ModelStatus.APPROVED, ModelStatus.IN_PRODUCTION, ModelStatus.UNDER_REVIEW}
)
SIGNATURE_SCHEMA = "attest.signature.v1"


# --- prerequisites ---------------------------------------------------------------------------------


def prerequisites_missing(version: ModelVersion, policy: Policy) -> list[str]:
    """What stops an approval of ``version`` under ``policy``; empty when nothing does."""
    missing = _missing_checks(version, policy)
    missing += _missing_evidence(version, policy)
    missing += _blocking_findings(version, policy)
    missing += validation_documents.approval_missing(version, policy)
    missing += red_team.approval_missing(version, policy)
    missing += judged.approval_missing(version, policy)
    return missing


def _missing_checks(version: ModelVersion, policy: Policy) -> list[str]:
    runs = latest_check_runs(version)
    missing = []
    model_kind = version.model.kind
    checks = checks_for(policy.required_checks, model_kind)
    mandatory = set(mandatory_kinds(checks))
    for kind in dict.fromkeys(check["kind"] for check in checks):
        run = runs.get(kind)
        if run is None:
            if kind in mandatory:  # an optional check binds only when the version has a run of it
                missing.append(f"check '{kind}' has no successful run for this version")
        elif run.outcome not in PASSING_OUTCOMES:
            missing.append(f"check '{kind}' (run {run.pk}) failed: {run.outcome_reason or run.outcome}")
        else:
            missing += _looser_thresholds(run, policy_bounds(policy, kind, model_kind))
    return missing


def _looser_thresholds(run, bounds: dict[str, float]) -> list[str]:
    """Bounds the run was judged by that are looser than the policy's (e.g. an older, laxer policy)."""
    problems = []
    for name, required in bounds.items():
        used = (run.thresholds or {}).get(name, {}).get("value")
        stricter_or_equal = used is not None and (
            used >= required if name.endswith("_min") else used <= required
        )
        if not stricter_or_equal:
            problems.append(
                f"check '{run.kind}' (run {run.pk}) was judged with {name}={used}, "
                f"not the policy's {required}: run it again"
            )
    return problems


def _missing_evidence(version: ModelVersion, policy: Policy) -> list[str]:
    present = set(
        EvidenceDocument.objects.filter(model_version=version).values_list("evidence_type_id", flat=True)
    )
    return [
        f"evidence '{key}' has not been attached" for key in policy.required_evidence if key not in present
    ]


def _blocking_findings(version: ModelVersion, policy: Policy) -> list[str]:
    blocking = blocking_findings(version, policy)
    return [f"finding {finding.pk} ({finding.severity}) is open: {finding.title}" for finding in blocking]


def blocking_findings(version: ModelVersion, policy: Policy) -> list[Finding]:
    """Open findings at or above the policy's blocking severity that concern ``version``: raised on it, on
    the model as a whole (no version), or of a source the policy declares model-wide (e.g. monitoring).
    A check that failed on version 7 does not block version 1."""
    floor = SEVERITY_RANK[policy.blocking_finding_severity]
    severities = [name for name, rank in SEVERITY_RANK.items() if rank >= floor]
    concerns = Q(model_version=version) | Q(model_version__isnull=True)
    if policy.model_wide_findings:
        concerns |= Q(source__in=policy.model_wide_findings)
    open_findings = Finding.objects.filter(
        model_id=version.model_id, status=FindingStatus.OPEN, severity__in=severities
    )
    return list(open_findings.filter(concerns).order_by("pk"))


# --- requests ----------------------------------------------------------------------------------------


def approval_request(
    *, actor: User, version: ModelVersion, environment: str, justification: str = ""
) -> ApprovalRequest:
    """Request approval of ``version`` for ``environment``.

    Refused (and the refusal audited) when the policy's required checks, passing results or evidence
    are missing, listing each missing item; refused when a request for the same version and
    environment is already pending.
    """
    access.require(actor, "request_approval", version.model)
    _require_approvable(version.model)
    policy = policy_active(tier=version.model.risk_tier)
    stage_keys = _stages_for(policy, environment)
    missing = prerequisites_missing(version, policy)
    if missing:
        _audit_refusal("approval.refused", actor, version, {"environment": environment, "missing": missing})
        raise PrerequisitesMissing(
            f"Approval cannot be requested: {len(missing)} prerequisite(s) missing.",
            details={"missing": missing},
        )
    manifest = evidence_manifest(version)
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                model_version=version,
                environment=environment,
                policy=policy,
                stage_keys=stage_keys,
                evidence_manifest=manifest,
                evidence_digest=manifest_digest(manifest),
                justification=justification,
                requested_by=actor,
            )
            record(action="approval.requested", actor=actor, obj=request, after=_request_facts(request))
            _announce("approval.requested", request)
            stage_open(request, now=request.requested_at)
    except IntegrityError:
        raise RequestClosed(
            f"A request to approve {version} for {environment} is already pending.",
            fields={"environment": ["An approval for this environment is already pending."]},
        ) from None
    return request


def _require_approvable(model: RegisteredModel) -> None:
    """An approval is asked for a model the team has handed to validation (or one already past it)."""
    if model.status not in APPROVABLE_STATUSES:
        raise InvalidTransition(
            f"{model.name} is {model.status}: an approval is requested for a model in validation or later. "
            f"Move it to in_validation first (POST /api/v1/models/{model.name}/status/).",
            details={"current": model.status, "allowed": sorted(APPROVABLE_STATUSES)},
        )


def _stages_for(policy: Policy, environment: str) -> list[str]:
    needed = policy.gated_environments.get(environment)
    if not needed:
        raise NotGated(
            f"Tier {policy.tier} policy v{policy.version} does not gate '{environment}': no approval is needed.",
            fields={
                "environment": [
                    f"Gated environments: {', '.join(sorted(policy.gated_environments)) or 'none'}."
                ]
            },
        )
    order = [stage["key"] for stage in policy.stages]
    return sorted(needed, key=order.index)


def approval_cancel(*, actor: User, request: ApprovalRequest, reason: str) -> ApprovalRequest:
    """Withdraw a pending request (its requester or an administrator)."""
    if actor.pk != request.requested_by_id:
        access.require(actor, "administer")
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the request is withdrawn."]})
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(request)
        request.status = ApprovalStatus.CANCELLED
        request.completed_at = timezone.now()
        request.outcome_reason = reason
        request.stage_due_at = None
        request.save(update_fields=["status", "completed_at", "outcome_reason", "stage_due_at"])
        record(
            action="approval.cancelled",
            actor=actor,
            obj=request,
            after={"status": "cancelled"},
            reason=reason,
        )
    return request


# --- signatures --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureInput:
    decision: str
    meaning: str
    comment: str
    password: str
    totp_code: str = ""
    step_up: int | None = None  # a completed re-authentication at the IdP (accounts.services.federation)


@dataclass(frozen=True)
class Reauthentication:
    """How a signer proved, for this one signature, that they are who is signed in."""

    method: str  # password, password+totp, oidc:<provider>, saml:<provider>
    idp_authenticated_at: dt.datetime | None = None


def approval_sign(*, actor: User, request: ApprovalRequest, signing: SignatureInput) -> Signature:
    """Sign the open stage of ``request`` as ``actor``.

    Raises ReauthenticationFailed (401), SignatureRefused (403), EvidenceChanged (409, and the request
    is invalidated) or RequestClosed (409); each refusal is audited and committed before it is raised.
    """
    try:
        # Someone who may not sign is told so whatever the password: a 403 that came only with the right
        # password would tell a holder of a stolen session which guess was right.
        _require_signer_allowed_now(actor, request.pk)
        # Re-authenticate before the signing transaction: an accepted TOTP code is then consumed for good
        # even when the signature is refused below (RFC 6238 5.2: an accepted code is never accepted again).
        method = reauthenticate(
            actor,
            signing.password,
            signing.totp_code,
            step_up=signing.step_up,
            purpose=f"approval:{request.pk}",
        )
        with transaction.atomic():
            return _sign(actor, request.pk, signing, method)
    except (ReauthenticationFailed, SignatureRefused) as refusal:
        _audit_refusal(
            "approval.signature_refused", actor, request, {"code": refusal.code, "why": refusal.message}
        )
        raise
    except EvidenceChanged as changed:
        _invalidate(actor, request.pk, changed.details)
        raise


def _sign(actor: User, request_id: int, signing: SignatureInput, method: str) -> Signature:
    request = (
        ApprovalRequest.objects.select_for_update()
        .select_related("policy", "model_version__model", "requested_by")
        .get(pk=request_id)
    )
    _require_pending(request)
    stage = _open_stage(request)
    _require_signer_allowed(actor, request, stage)
    _require_meaning(stage, signing)
    current = manifest_digest(evidence_manifest(request.model_version))
    if current != request.evidence_digest:
        raise EvidenceChanged(
            "The evidence changed since the request was made; the request is invalidated. Request approval again.",
            details={"requested_digest": request.evidence_digest, "current_digest": current},
        )
    _require_not_superseded(request)
    signature = _create_signature(actor, request, stage, signing, method)
    record(action="approval.signed", actor=actor, obj=signature, after=_signature_facts(signature))
    _announce("approval.signed", request, signature=_signature_facts(signature))
    if signing.decision == Decision.REJECT:
        _finish(actor, request, ApprovalStatus.REJECTED, signing.comment)
    else:
        _advance(actor, request, stage)
    return signature


def _require_signer_allowed_now(actor: User, request_id: int) -> None:
    """The signer check of ``_sign`` on the request as it is now (the caller's copy may be stale), without a
    lock: ``_sign`` checks again under its lock."""
    request = ApprovalRequest.objects.select_related("policy").get(pk=request_id)
    if request.status == ApprovalStatus.PENDING:
        _require_signer_allowed(actor, request, _open_stage(request))


def _require_pending(request: ApprovalRequest) -> None:
    if request.status != ApprovalStatus.PENDING:
        raise RequestClosed(
            f"This request is {request.get_status_display().lower()}; it can no longer be signed."
        )


def reauthenticate(
    actor: User, password: str, totp_code: str = "", *, step_up: int | None = None, purpose: str = ""
) -> Reauthentication:
    """21 CFR 11.200: both components of the signing credential are re-entered for each signature.

    Someone who signs in through an identity provider re-authenticates there instead (``step_up``: a
    completed re-authentication begun for this ``purpose``, used once), and the method names the IdP.
    Returns the method (``password`` or ``password+totp``); raises ReauthenticationFailed (401). A wrong
    password, a wrong or missing code and a locked account or address (accounts.services.lockout) get
    one and the same refusal, so that someone holding a stolen session or token learns nothing from it;
    wrong guesses count towards the lockout like wrong sign-in passwords.
    """
    if step_up is not None or federation.signing_provider(actor) is not None:
        used = federation.step_up_consume(user=actor, step_up_id=step_up, purpose=purpose)
        return Reauthentication(used.provider.method_prefix, used.idp_authenticated_at)
    enrolled = totp.is_enrolled(actor)
    refusal = _reauthentication_refused(enrolled)
    username, client = actor.get_username(), context.current().client_ip
    if lockout.lock_for(username=username, client=client) is not None:
        raise refusal
    if not _credentials_correct(actor, password, totp_code, enrolled):
        lockout.failure_record(username=username, client=client, attempt="signature")
        raise refusal
    lockout.success_record(username=username)
    return Reauthentication("password+totp" if enrolled else "password")


def _credentials_correct(actor: User, password: str, totp_code: str, enrolled: bool) -> bool:
    if not password or not actor.check_password(password):
        return False
    return not enrolled or bool(totp_code and totp.verify(actor, totp_code))


def _reauthentication_refused(enrolled: bool) -> ReauthenticationFailed:
    # Whether the signer has an authenticator is theirs to know (GET /api/v1/auth/totp/); which of the
    # two was wrong, or that the account is locked, is not said.
    if enrolled:
        return ReauthenticationFailed(
            "The password or the authenticator code is not correct; nothing was signed. " + REPEATED_FAILURES,
            fields={
                "password": ["Re-enter your password."],
                "totp": ["Enter the current code from your authenticator."],
            },
        )
    return ReauthenticationFailed(
        "The password is not correct; nothing was signed. " + REPEATED_FAILURES,
        fields={"password": ["The password is not correct."]},
    )


REPEATED_FAILURES = "After repeated failures, signing is paused for a few minutes."


def _open_stage(request: ApprovalRequest) -> dict[str, Any]:
    stage = request.policy.stage(request.current_stage_key)
    if stage is None:  # a pending request always has an open stage; anything else is corruption
        raise RequestClosed("This request has no open stage.")
    return stage


def _require_signer_allowed(actor: User, request: ApprovalRequest, stage: dict[str, Any]) -> None:
    refusal = signer_refusal(actor, request, stage)
    if refusal is not None:
        raise refusal


def signer_refusal(actor: User, request: ApprovalRequest, stage: dict[str, Any]) -> SignatureRefused | None:
    """Why ``actor`` may not sign ``stage`` of ``request`` (None when they may): the stage's role, the
    model's team, segregation of duties, one signature per person per request, and not having handed
    the stage to someone else. The same rules decide who a stage may be delegated to."""
    roles = access.roles_of(actor)
    if stage["role"] not in roles:
        later = [
            key
            for key in request.stage_keys[request.stage_index + 1 :]
            if request.policy.stage(key)["role"] in roles
        ]
        if later and stage["key"] == request.current_stage_key:
            return SignatureRefused(
                f"Stages are signed in order: '{stage['title']}' must be completed before '{later[0]}'.",
                code="stage_order",
            )
        return SignatureRefused(
            f"The open stage '{stage['title']}' is signed by the {stage['role']} role, which you do not hold.",
            code="wrong_role",
        )
    if not access.can(actor, "sign", request):  # a grant lets someone read a model, never sign for it
        return SignatureRefused(
            "Only the model's own team's signers (or a risk officer or administrator) sign its approvals; a "
            "grant lets you read this request, not sign it.",
            code="not_team_signer",
        )
    for party, user_id in request.segregated_parties().items():
        if user_id == actor.pk:
            return SignatureRefused(
                f"Segregation of duties: the {party} cannot sign this request.",
                code="segregation_of_duties",
                details={"party": party},
            )
    if request.signatures.filter(signer=actor).exists():
        return SignatureRefused(
            "You have already signed this request; each stage's quorum needs distinct people.",
            code="already_signed",
        )
    handed = StageAssignment.objects.filter(request=request, stage_key=stage["key"], replaces=actor)
    handed = handed.select_related("assignee").first()
    if handed is not None:
        return SignatureRefused(
            f"The signature on '{stage['title']}' was handed to {handed.assignee.printed_name} "
            f"({handed.get_kind_display().lower()}); it is theirs to give.",
            code="stage_delegated",
        )
    return None


def stage_signers(request: ApprovalRequest, stage: dict[str, Any]) -> list[User]:
    """Everyone who may sign ``stage`` of ``request`` now (the rules of ``signer_refusal``), by username."""
    holders = User.objects.filter(is_active=True).filter(
        Q(groups__name=stage["role"]) | (Q(is_superuser=True) if stage["role"] == "admin" else Q(pk=None))
    )
    return [
        user
        for user in holders.distinct().order_by("username")
        if signer_refusal(user, request, stage) is None
    ]


def stage_due_days(stage: dict[str, Any]) -> int:
    days = stage.get("due_days")
    return days if isinstance(days, int) and not isinstance(days, bool) else DEFAULT_STAGE_DUE_DAYS


def stage_open(request: ApprovalRequest, *, now: dt.datetime | None = None) -> None:
    """The request's open stage starts its clock (due ``due_days`` from now) and everyone who may sign it
    is told it waits for them; a request no longer pending has no due date. In the caller's transaction."""
    if request.status != ApprovalStatus.PENDING or request.current_stage_key is None:
        if request.stage_due_at is not None:
            request.stage_due_at = None
            request.save(update_fields=["stage_due_at"])
        return
    stage = request.policy.stage(request.current_stage_key)
    now = now or timezone.now()
    due = now + dt.timedelta(days=stage_due_days(stage))
    request.stage_due_at = due
    request.stage_due_dates = {**(request.stage_due_dates or {}), stage["key"]: due.isoformat()}
    request.save(update_fields=["stage_due_at", "stage_due_dates"])
    version = request.model_version
    inbox.notification_send(
        recipients=stage_signers(request, stage),
        kind=NotificationKind.APPROVAL_WAITING,
        title=f"{version.model.name} v{version.version} for {request.environment}: "
        f"'{stage['title']}' waits for your signature (due {due:%Y-%m-%d})",
        link=reverse("approval-detail", args=[request.pk]),
        obj=request,
        dedupe_key=f"approval-waiting:{request.pk}:{stage['key']}",
    )


def _require_meaning(stage: dict[str, Any], signing: SignatureInput) -> None:
    if signing.meaning != stage["meaning"]:
        raise ValidationError({"meaning": [f"A signature at '{stage['title']}' means '{stage['meaning']}'."]})
    if signing.decision not in Decision.values:
        raise ValidationError({"decision": [f"Must be one of {', '.join(Decision.values)}."]})
    if signing.decision == Decision.REJECT and not signing.comment.strip():
        raise ValidationError({"comment": ["Say why you reject."]})


def _create_signature(actor, request, stage, signing: SignatureInput, method: Reauthentication) -> Signature:
    parties = request.segregated_parties()
    signature = Signature(
        request=request,
        stage_key=stage["key"],
        signer=actor,
        printed_name=actor.printed_name,
        roles=sorted(access.roles_of(actor)),
        decision=signing.decision,
        meaning=signing.meaning,
        comment=signing.comment,
        signed_at=timezone.now(),
        auth_method=method.method,
        idp_authenticated_at=method.idp_authenticated_at,
        evidence_digest=request.evidence_digest,
        policy_version=request.policy.version,
        policy_tier=request.policy.tier,
        requester_id_at_signing=parties.get("requester", 0),
        submitter_id_at_signing=parties.get("submitter", 0),
        owner_id_at_signing=parties.get("owner", 0),
    )
    signature.payload = rfc8785.dumps(signed_fields(signature))
    private_key, _ = signing_keys.signing_key(create_if_missing=not settings.PRODUCTION)
    signature.server_signature = private_key.sign(bytes(signature.payload)).hex()
    signature.key_id = signing_keys.key_id(private_key.public_key())
    signature.save()
    return signature


def signed_fields(signature: Signature) -> dict[str, Any]:
    """The fields the server signs: who, as what, when, what it means, and exactly which evidence."""
    version = signature.request.model_version
    return {
        "schema": SIGNATURE_SCHEMA,
        "request": signature.request_id,
        "model": version.model.name,
        "version": version.version,
        "environment": signature.request.environment,
        "stage": signature.stage_key,
        "signer": signature.signer_id,
        "printed_name": signature.printed_name,
        "roles": signature.roles,
        "decision": signature.decision,
        "meaning": signature.meaning,
        "comment": signature.comment,
        "signed_at": signature.signed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "auth_method": signature.auth_method,
        "evidence_digest": signature.evidence_digest,
        "policy": {"tier": signature.policy_tier, "version": signature.policy_version},
    } | signed_idp_time(signature.idp_authenticated_at)


def signed_idp_time(authenticated_at: dt.datetime | None) -> dict[str, str]:
    """When the IdP re-authenticated the signer; absent for a password signature (whose payload, signed
    before SSO existed, must still verify)."""
    if authenticated_at is None:
        return {}
    return {"idp_authenticated_at": authenticated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def verify_signature(signature: Signature) -> bool:
    """True when the stored payload matches the signature's fields and the server signature is valid."""
    from cryptography.exceptions import InvalidSignature

    if bytes(signature.payload) != rfc8785.dumps(signed_fields(signature)):
        return False
    public = signing_keys.public_keys().get(signature.key_id)
    if public is None:
        return False
    try:
        public.verify(bytes.fromhex(signature.server_signature), bytes(signature.payload))
    except InvalidSignature:
        return False
    return True


def _advance(actor: User, request: ApprovalRequest, stage: dict[str, Any]) -> None:
    approvals = request.signatures.filter(stage_key=stage["key"], decision=Decision.APPROVE).count()
    if approvals < stage["quorum"]:
        return
    record(
        action="approval.stage_completed",
        actor=actor,
        obj=request,
        after={"stage": stage["key"], "signatures": approvals},
    )
    request.stage_index += 1
    request.save(update_fields=["stage_index"])
    if request.stage_index >= len(request.stage_keys):
        _finish(actor, request, ApprovalStatus.APPROVED, "")
    else:
        stage_open(request)


def _finish(actor: User, request: ApprovalRequest, status: str, reason: str) -> None:
    request.status = status
    request.completed_at = timezone.now()
    request.outcome_reason = reason
    request.stage_due_at = None
    fields = ["status", "completed_at", "outcome_reason", "stage_due_at"]
    if status == ApprovalStatus.APPROVED:
        request.expires_at = approval_expiry(request)
        fields.append("expires_at")
    request.save(update_fields=fields)
    if status == ApprovalStatus.APPROVED and request.environment == "production":
        _mark_model_approved(request)
    action = "approval.approved" if status == ApprovalStatus.APPROVED else "approval.rejected"
    record(action=action, actor=actor, obj=request, after=_request_facts(request), reason=reason)
    _announce(action, request)


def _mark_model_approved(request: ApprovalRequest) -> None:
    """A model in validation becomes approved when a version is approved for production."""
    model = RegisteredModel.objects.select_for_update().get(pk=request.model_version.model_id)
    if model.status == ModelStatus.IN_VALIDATION:
        model_status_set_by_workflow(
            model=model, status=ModelStatus.APPROVED, reason=f"approval {request.pk}"
        )


def approval_expiry(request: ApprovalRequest) -> dt.datetime:
    """The approval lasts the policy's validity, but never past the model's review date or valid-until."""
    months = request.policy.approval_valid_months
    expiry = request.completed_at + dt.timedelta(days=round(months * 30.44))
    return min([expiry, *model_deadlines(request.model_version.model).values()])


def model_deadlines(model: RegisteredModel) -> dict[str, dt.datetime]:
    """The ends (UTC) of the model's review date and valid-until day, when set: no approval outlasts them.

    Keyed by the gate's reason code for a deadline that has passed.
    """
    days = {"review_overdue": model.next_review_due, "validity_ended": model.valid_until}
    return {
        code: dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
        for code, day in days.items()
        if day is not None
    }


def _require_not_superseded(request: ApprovalRequest) -> None:
    """An LLM application's bundle is one approvable unit: once a later bundle of the same application is
    registered (a prompt, parameter, corpus, tool or guardrail changed), a pending request for an earlier
    one is void: the team is shipping the new bundle, and what was reviewed is no longer what will run."""
    version = request.model_version
    if not version.bundle:
        return
    newer = (
        ModelVersion.objects.filter(model_id=version.model_id, version__gt=version.version)
        .exclude(bundle=None)
        .order_by("-version")
        .first()
    )
    if newer is None:
        return
    before = version.bundle.get("component_digests") or {}
    after = newer.bundle.get("component_digests") or {}
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    raise EvidenceChanged(
        f"v{newer.version} of {version.model.name} changed its bundle ({', '.join(changed) or 'components'}):"
        f" this request for v{version.version} is void. {_newer_request_words(newer, request.environment)}",
        details={
            "requested_digest": request.evidence_digest,
            "current_digest": request.evidence_digest,
            "superseded_by": newer.version,
            "changed_components": changed,
            "reason": f"Superseded by v{newer.version}: its bundle changed {', '.join(changed) or 'components'}.",
        },
    )


def _newer_request_words(newer: ModelVersion, environment: str) -> str:
    """What to do instead: the newer version's own request for the environment, or ask for one."""
    latest = (
        ApprovalRequest.objects.filter(model_version=newer, environment=environment)
        .exclude(status__in=[ApprovalStatus.INVALIDATED, ApprovalStatus.CANCELLED])
        .order_by("-requested_at", "-pk")
        .first()
    )
    if latest is None:
        return f"Request approval of v{newer.version}."
    return f"v{newer.version} has its own request, approval #{latest.pk} ({latest.get_status_display().lower()})."


def _invalidate(actor: User, request_id: int, details: dict[str, Any]) -> None:
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request_id)
        if request.status != ApprovalStatus.PENDING:
            return
        request.status = ApprovalStatus.INVALIDATED
        request.completed_at = timezone.now()
        request.outcome_reason = details.get("reason") or "The evidence changed after the request was made."
        request.stage_due_at = None
        request.save(update_fields=["status", "completed_at", "outcome_reason", "stage_due_at"])
        superseded = {key: details[key] for key in ("superseded_by", "changed_components") if key in details}
        record(
            action="approval.invalidated",
            actor=actor,
            obj=request,
            before={"digest": details.get("requested_digest")},
            after={"digest": details.get("current_digest"), **superseded},
        )
        _announce("approval.invalidated", request)


def _announce(event_type: str, request: ApprovalRequest, **extra: Any) -> None:
    """Webhooks for the model's team, and email to the people the event concerns (the team's signers
    of a new request, the requester of everything that happens to it)."""
    team = request.model_version.model.team
    recipients = notifications.audience(event_type, team=team, requester=request.requested_by)
    notifications.notify(event_type, request_payload(request) | extra, team=team, recipients=recipients)


def _audit_refusal(action: str, actor: User, obj, facts: dict[str, Any]) -> None:
    with transaction.atomic():
        record(action=action, actor=actor, obj=obj, after=facts)


# --- descriptions ------------------------------------------------------------------------------------


def _request_facts(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "model": request.model_version.model.name,
        "version": request.model_version.version,
        "environment": request.environment,
        "policy": {"tier": request.policy.tier, "version": request.policy.version},
        "stages": request.stage_keys,
        "status": request.status,
        "evidence_digest": request.evidence_digest,
        "expires_at": request.expires_at,
    }


def _signature_facts(signature: Signature) -> dict[str, Any]:
    return {
        "signature": signature.pk,
        "request": signature.request_id,
        "stage": signature.stage_key,
        "printed_name": signature.printed_name,
        "decision": signature.decision,
        "meaning": signature.meaning,
        "auth_method": signature.auth_method,
        "idp_authenticated_at": signature.idp_authenticated_at,
        "evidence_digest": signature.evidence_digest,
        "server_signature": signature.server_signature,
    }


def request_payload(request: ApprovalRequest) -> dict[str, Any]:
    """What notifications say about a request."""
    return {"approval": request.pk, **_request_facts(request)}
