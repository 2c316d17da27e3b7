"""Inventory writes: registering and editing models, lifecycle moves, tier overrides, the tiering rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.errors import InvalidTransition
from accounts.models import Team, User
from audit import record
from registry import tiering
from registry.models import ModelStatus, RegisteredModel, TierChange, TierChangeStatus, TieringRule
from registry.models.inventory import ALLOWED_TRANSITIONS
from registry.models.lineage import EdgeKind, LineageEdge
from registry.services import declarations, names

# Fields a model's team may edit with ``model_update``; status, tier override and name have their own paths.
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "purpose",
        "intended_use",
        "out_of_scope_use",
        "limitations",
        "business_line",
        "deployment_context",
        "affected_persons",
        "kind",
        "intended_users",
        "human_oversight",
        "autonomy_level",
        "owner",
        "tier_answers",
        "eu_ai_act_category",
        "is_third_party",
        "vendor",
        "review_frequency_months",
        "tags",
        "lineage_namespace",
        "lineage_job",
        "favourable_label",
        "prohibited_features",
    }
)
# Unique across every team; a clash with a model the actor cannot see says only "not available".
MODEL_UNIQUE_FIELDS = (("name",), ("lineage_namespace", "lineage_job"))
# Fields the gate or the review calendar read, which the first line may not set: a completed periodic
# review (workflow.services.reviews) sets them through ``model_review_recorded``.
SECOND_LINE_FIELDS = {
    "last_reviewed_on": "is set when a validator or risk officer completes a periodic review of the model",
    "valid_until": "is set or extended by a completed periodic review",
    "risk_tier": "follows the questionnaire; a risk officer overrides it (POST …/tier-override/)",
    "status": "moves through the lifecycle (POST …/status/) and the approval workflow",
}
# Statuses that the approval workflow and the deployment gate set; through the registry only an
# administrator may set them by hand (e.g. when migrating an existing inventory).
GATED_STATUSES = frozenset({ModelStatus.APPROVED, ModelStatus.IN_PRODUCTION})


def tiering_rule_current(*, actor: User | None = None) -> TieringRule:
    """The rule in force; the built-in default is recorded as version 1 the first time it is needed."""
    rule = TieringRule.objects.order_by("-version").first()
    if rule is not None:
        return rule
    with transaction.atomic():
        rule, created = TieringRule.objects.get_or_create(
            version=1, defaults={**tiering.DEFAULT_RULE, "note": "Built-in default rule."}
        )
        if created:
            record(action="tiering.rule_changed", actor=actor, obj=rule, after=_rule_facts(rule))
    return rule


def tiering_rule_create(
    *, actor: User, weights: dict, thresholds: dict, floors: dict | None = None, note: str = ""
) -> TieringRule:
    """Record a new version of the tiering rule (administrators only). Existing models keep the tier
    computed under the rule they were assessed with until their questionnaire is next saved."""
    access.require(actor, "administer")
    floors = floors or {}
    try:
        tiering.validate_rule(weights, thresholds, floors)
    except tiering.TieringError as exc:
        raise ValidationError({exc.field: [exc.message]}) from None
    with transaction.atomic():
        before = tiering_rule_current(actor=actor)
        latest = TieringRule.objects.select_for_update().order_by("-version").first()
        rule = TieringRule.objects.create(
            version=latest.version + 1,
            weights=weights,
            thresholds=thresholds,
            floors=floors,
            note=note,
            created_by=actor,
        )
        record(
            action="tiering.rule_changed",
            actor=actor,
            obj=rule,
            before=_rule_facts(before),
            after=_rule_facts(rule),
        )
    return rule


def _rule_facts(rule: TieringRule) -> dict[str, Any]:
    return {
        "version": rule.version,
        "weights": rule.weights,
        "thresholds": rule.thresholds,
        "floors": rule.floors,
    }


def model_create(
    *, actor: User, team: Team, name: str, title: str, upstream: list[RegisteredModel] = (), **fields
) -> RegisteredModel:
    """Register a model for ``team``. The actor must be allowed to change the team's models.

    The tier is computed from ``tier_answers`` under the rule in force; the next review falls due
    ``review_frequency_months`` (at most the tier policy's interval) after the last review, or after the
    model's registration when there was none.
    """
    access.require(actor, "change", team)
    _check_fields(fields)
    answers = _answers(fields.pop("tier_answers", None))
    owner = fields.pop("owner", None) or actor
    require_owner_allowed(owner, team)
    with transaction.atomic():
        rule = tiering_rule_current(actor=actor)
        model = RegisteredModel(
            team=team,
            name=name,
            title=title,
            owner=owner,
            created_by=actor,
            tier_answers=answers,
            tier_rule=rule,
            lineage_job=fields.pop("lineage_job", "") or name,
            **fields,
        )
        _apply_tier(model, rule)
        model.next_review_due = _next_review(model)
        with names.taken_concurrently_is_not_available("name"):
            _validated(model, actor).save()
        _add_upstream(model, upstream)
        record(action="model.created", actor=actor, obj=model, after=model_facts(model, upstream=upstream))
    return model


def model_update(
    *, actor: User, model: RegisteredModel, upstream: list[RegisteredModel] | None = None, **changes
) -> RegisteredModel:
    """Change inventory fields. A new questionnaire re-tiers the model under the rule now in force when the
    tier stays or rises; answers that would lower it are held as a pending tier change for a risk officer
    (``model.pending_tier_change`` is set on the returned object). ``upstream`` (when given) replaces the
    set of upstream model dependencies.

    Refused, and the refusal audited (``model.change_refused``): fields the second line sets
    (``SECOND_LINE_FIELDS``), an owner outside the owning team without a grant on the model, and a
    longer review interval asked for by the first line.
    """
    access.require(actor, "change", model)
    _refuse_audited(actor, model, lambda: _check_update(actor, model, changes))
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        before = model_facts(model)
        pending = None
        if "tier_answers" in changes:
            answers = _answers(changes.pop("tier_answers"))
            rule = tiering_rule_current(actor=actor)
            pending = _tier_change_if_lower(actor=actor, model=model, answers=answers, rule=rule)
            if pending is None:
                model.tier_answers, model.tier_rule = answers, rule
                _apply_tier(model, rule)
        for field, value in changes.items():
            setattr(model, field, value)
        model.next_review_due = _next_review(model)
        with names.taken_concurrently_is_not_available("lineage_job"):
            _validated(model, actor).save()
        if upstream is not None:
            _replace_upstream(model, upstream)
        after = model_facts(model)
        changed = {key for key in after if after[key] != before.get(key)}
        if changed:
            record(
                action="model.changed",
                actor=actor,
                obj=model,
                before={key: before.get(key) for key in sorted(changed)},
                after={key: after[key] for key in sorted(changed)},
            )
    model.pending_tier_change = pending
    return model


def _check_update(actor: User, model: RegisteredModel, changes: dict) -> None:
    _check_fields(changes)
    if changes.get("owner") is not None:
        require_owner_allowed(changes["owner"], model.team, model)
    if "kind" in changes and changes["kind"] != model.kind and model.versions.exists():
        raise ValidationError(
            {"kind": ["The model has versions: its kind (ml_model or llm_application) is fixed."]}
        )
    months = changes.get("review_frequency_months")
    if (
        months is not None
        and months > model.review_frequency_months
        and not access.may(actor, "lengthen_review_interval")
    ):
        raise ValidationError(
            {
                "review_frequency_months": [
                    f"Reviews fall due every {model.review_frequency_months} months; a longer interval is a "
                    "second-line decision (a risk officer or an administrator). A shorter one is allowed."
                ]
            }
        )


def _refuse_audited(actor: User, model: RegisteredModel, check: Callable[[], None]) -> None:
    """Run ``check``; a refusal is audited in its own committed transaction before it is raised."""
    try:
        check()
    except (ValidationError, PermissionDenied) as refusal:
        why = (
            refusal.message_dict
            if isinstance(refusal, ValidationError) and hasattr(refusal, "error_dict")
            else str(refusal)
        )
        with transaction.atomic():
            record(action="model.change_refused", actor=actor, obj=model, after={"refused": why})
        raise


def owner_allowed(user: User, team: Team, model: RegisteredModel | None = None) -> bool:
    """A model's owner is an active member of the owning team, or holds a grant on the model itself."""
    if user is None or not user.is_active:
        return False
    if team.group.user_set.filter(pk=user.pk).exists():
        return True
    return model is not None and access.holds_grant(user, model)


def require_owner_allowed(user: User, team: Team, model: RegisteredModel | None = None) -> None:
    if not owner_allowed(user, team, model):
        raise ValidationError(
            {
                "owner": [
                    f"The owner must be an active member of team {team.name} (or hold a grant on the model): "
                    f"{user} is not, and would be assigned findings on a model they cannot see."
                ]
            }
        )


def model_change_status(
    *, actor: User, model: RegisteredModel, status: str, reason: str = ""
) -> RegisteredModel:
    """Move the model along its lifecycle. Only ``ALLOWED_TRANSITIONS`` are accepted; approved and
    in production are reserved to administrators until the approval workflow sets them."""
    access.require(actor, "change", model)
    if status in GATED_STATUSES and not access.may(actor, "administer"):
        raise PermissionDenied(
            f"The status {status!r} is set by the approval workflow and the deployment gate."
        )
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        _require_transition(model, status)
        if (
            model.status == ModelStatus.UNDER_REVIEW
            and status != ModelStatus.RETIRED
            and not access.may(actor, "administer")
        ):
            raise PermissionDenied(
                f"{model.name} is under review: it returns to production when a validator clears the review "
                "(POST /api/v1/reviews/clear/), or it is retired."
            )
        before = model.status
        model.status = status
        model.save(update_fields=["status", "updated_at"])
        record(
            action="model.status_changed",
            actor=actor,
            obj=model,
            before={"status": before},
            after={"status": status},
            reason=reason,
        )
    return model


def model_status_set_by_workflow(*, model: RegisteredModel, status: str, reason: str) -> RegisteredModel:
    """Move the model's status on behalf of the governance workflow (approval, deployment, review).

    The caller has already decided the move is due (an approval completed, a deployment was recorded,
    a monitoring breach put the model under review) and holds a lock on the model row; the transition
    rules still apply. The audit event names no actor: the workflow's own event says who caused it.
    """
    _require_transition(model, status)
    with transaction.atomic():
        before = model.status
        model.status = status
        model.save(update_fields=["status", "updated_at"])
        record(
            action="model.status_changed",
            actor=None,
            obj=model,
            before={"status": before},
            after={"status": status},
            reason=reason,
        )
    return model


def _require_transition(model: RegisteredModel, status: str) -> None:
    """409 naming the current state for a move the lifecycle does not allow."""
    if status not in ModelStatus.values:
        raise ValidationError({"status": [f"One of {', '.join(ModelStatus.values)}."]})
    allowed = ALLOWED_TRANSITIONS[model.status]
    if status not in allowed:
        options = ", ".join(sorted(allowed)) or "none (retired is final)"
        raise InvalidTransition(
            f"{model.name} is {model.status}: it cannot move to {status}; from {model.status} it may move to "
            f"{options}.",
            details={"current": model.status, "allowed": sorted(allowed)},
        )


def model_review_recorded(
    *, model: RegisteredModel, reviewed_on: dt.date, valid_until: dt.date | None, review_id: int
) -> RegisteredModel:
    """Record a completed periodic review on behalf of the governance workflow: ``last_reviewed_on`` and,
    when the review grants one, ``valid_until``; the next review is rescheduled from it. The caller holds a
    lock on the model row and writes the review's own audit event."""
    before = {"last_reviewed_on": model.last_reviewed_on, "valid_until": model.valid_until}
    model.last_reviewed_on = reviewed_on
    if valid_until is not None:
        model.valid_until = valid_until
    previous_due, model.next_review_due = model.next_review_due, _next_review(model)
    model.save(update_fields=["last_reviewed_on", "valid_until", "next_review_due", "updated_at"])
    record(
        action="model.reviewed",
        actor=None,
        obj=model,
        before={**before, "next_review_due": previous_due},
        after={
            "last_reviewed_on": model.last_reviewed_on,
            "valid_until": model.valid_until,
            "next_review_due": model.next_review_due,
            "review": review_id,
        },
    )
    return model


def model_override_tier(
    *, actor: User, model: RegisteredModel, tier: int | None, reason: str
) -> RegisteredModel:
    """Override the computed tier (or clear the override with ``tier=None``); risk officers and
    administrators only, always with a reason, which the audit event keeps."""
    if not access.may(actor, "decide_tier"):
        raise PermissionDenied("Only a risk officer or an administrator may override a risk tier.")
    if not reason.strip():
        raise ValidationError({"reason": ["Give the reason for the override."]})
    if tier is not None and tier not in tiering.TIERS:
        raise ValidationError({"tier": ["The tier is 1, 2 or 3."]})
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        before = {"risk_tier": model.risk_tier, "tier_override": model.tier_override}
        model.tier_override = tier
        model.tier_override_reason = reason.strip() if tier is not None else ""
        model.risk_tier = tier if tier is not None else model.computed_tier
        model.next_review_due = _next_review(model)
        model.save(
            update_fields=[
                "tier_override",
                "tier_override_reason",
                "risk_tier",
                "next_review_due",
                "updated_at",
            ]
        )
        after = {"risk_tier": model.risk_tier, "tier_override": model.tier_override}
        record(
            action="model.tier_overridden",
            actor=actor,
            obj=model,
            before=before,
            after=after,
            reason=reason.strip(),
        )
    return model


def model_facts(model: RegisteredModel, *, upstream: list[RegisteredModel] | None = None) -> dict[str, Any]:
    """The inventory fields as the audit trail records them (names instead of ids)."""
    facts = {field: getattr(model, field) for field in sorted(EDITABLE_FIELDS - {"owner"})}
    facts.update(last_reviewed_on=model.last_reviewed_on, valid_until=model.valid_until)
    facts.update(
        name=model.name,
        team=model.team.name,
        owner=model.owner.username,
        status=model.status,
        computed_tier=model.computed_tier,
        risk_tier=model.risk_tier,
        tier_rule=model.tier_rule.version if model.tier_rule_id else None,
        next_review_due=model.next_review_due,
        upstream_models=sorted(m.name for m in (upstream if upstream is not None else _upstream_of(model))),
    )
    return facts


def _check_fields(fields: dict) -> None:
    """Refuse fields that cannot be set here or bad values; normalises ``prohibited_features`` in place."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {
                name: [
                    f"{name} {SECOND_LINE_FIELDS[name]}."
                    if name in SECOND_LINE_FIELDS
                    else "This field cannot be set here."
                ]
                for name in sorted(unknown)
            }
        )
    owner = fields.get("owner")
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": ["The owner must be an active user."]})
    tags = fields.get("tags")
    if tags is not None and (
        not isinstance(tags, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        raise ValidationError({"tags": ['Tags are an object of strings: {"key": "value"}.']})
    if "favourable_label" in fields:
        declarations.favourable_label(fields["favourable_label"])
    if "prohibited_features" in fields:
        fields["prohibited_features"] = declarations.prohibited_features(fields["prohibited_features"])


def _answers(raw: Any) -> dict[str, str]:
    try:
        return tiering.validate_answers(raw if raw is not None else {})
    except tiering.TieringError as exc:
        raise ValidationError({exc.field: [exc.message]}) from None


def _apply_tier(model: RegisteredModel, rule: TieringRule) -> None:
    model.computed_tier = tiering.compute_tier(model.tier_answers, _rule_dict(rule))
    model.risk_tier = model.tier_override or model.computed_tier


def _rule_dict(rule: TieringRule) -> dict[str, Any]:
    return {"weights": rule.weights, "thresholds": rule.thresholds, "floors": rule.floors}


# The longest review interval a risk tier allows, in months (None: no limit). The governance layer registers
# its tier policies here when it starts (registry may not import the workflow, see docs/ARCHITECTURE.md).
_review_interval_limit: list[Callable[[int], int | None]] = [lambda tier: None]


def set_review_interval_limit(lookup: Callable[[int], int | None]) -> None:
    _review_interval_limit[0] = lookup


def review_interval_months(model: RegisteredModel) -> int:
    """The model's own review frequency, shortened to what its tier's policy allows."""
    limit = _review_interval_limit[0](model.risk_tier)
    own = model.review_frequency_months
    return own if limit is None else min(own, limit)


def _next_review(model: RegisteredModel) -> dt.date:
    # Counted from the last review or, for a model never reviewed, from its registration: editing the model
    # or changing its tier's policy must not push its first review further out.
    registered = timezone.localdate(model.created_at) if model.created_at else timezone.localdate()
    return _add_months(model.last_reviewed_on or registered, review_interval_months(model))


def models_reschedule_reviews(*, tier: int, reason: str) -> list[str]:
    """Recompute the next review of the tier's models (its policy's interval changed); returns the names of
    the models whose date moved, each with its audit event. Retired models are not reviewed."""
    moved = []
    with transaction.atomic():
        models = RegisteredModel.objects.select_for_update().filter(risk_tier=tier)
        for model in models.exclude(status=ModelStatus.RETIRED).order_by("pk"):
            before, model.next_review_due = model.next_review_due, _next_review(model)
            if model.next_review_due == before:
                continue
            model.save(update_fields=["next_review_due", "updated_at"])
            record(
                action="model.review_rescheduled",
                actor=None,
                obj=model,
                before={"next_review_due": before},
                after={"next_review_due": model.next_review_due},
                reason=reason,
            )
            moved.append(model.name)
    return moved


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):  # 31 January + 1 month is the last day of February
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _validated(model: RegisteredModel, actor: User) -> RegisteredModel:
    names.full_clean(actor, model, MODEL_UNIQUE_FIELDS, exclude=["team", "owner", "created_by", "tier_rule"])
    return model


def _upstream_of(model: RegisteredModel) -> list[RegisteredModel]:
    if model.pk is None:
        return []
    return [
        edge.src_model
        for edge in LineageEdge.objects.filter(kind=EdgeKind.UPSTREAM_MODEL, dst_model=model).select_related(
            "src_model"
        )
    ]


def _add_upstream(model: RegisteredModel, upstream: list[RegisteredModel]) -> None:
    for source in upstream:
        if source.pk == model.pk or _depends_on(source, model):
            raise ValidationError({"upstream_models": [f"{source.name!r} would make a dependency cycle."]})
    LineageEdge.objects.bulk_create(
        [LineageEdge(kind=EdgeKind.UPSTREAM_MODEL, src_model=source, dst_model=model) for source in upstream],
        ignore_conflicts=True,
    )


def _replace_upstream(model: RegisteredModel, upstream: list[RegisteredModel]) -> None:
    wanted = {source.pk for source in upstream}
    LineageEdge.objects.filter(kind=EdgeKind.UPSTREAM_MODEL, dst_model=model).exclude(
        src_model__in=wanted
    ).delete()
    _add_upstream(model, upstream)


def _depends_on(model: RegisteredModel, other: RegisteredModel) -> bool:
    """Is ``other`` upstream of ``model`` (directly or transitively)? One query per level."""
    frontier, seen = {model.pk}, set()
    while frontier:
        if other.pk in frontier:
            return True
        seen |= frontier
        frontier = (
            set(
                LineageEdge.objects.filter(kind=EdgeKind.UPSTREAM_MODEL, dst_model__in=frontier).values_list(
                    "src_model", flat=True
                )
            )
            - seen
        )
    return False


# --- tier changes: the first line may raise its model's tier, only a risk officer may lower it --------------


def _tier_change_if_lower(
    *, actor: User, model: RegisteredModel, answers: dict[str, str], rule: TieringRule
) -> TierChange | None:
    """A pending tier change when ``answers`` would lower the model's tier (a higher tier number); None
    when the new tier is the same or higher, which the caller applies at once."""
    computed = tiering.compute_tier(answers, _rule_dict(rule))
    proposed = model.tier_override or computed
    if proposed <= model.risk_tier:
        _supersede_pending(actor, model, proposed)
        return None
    if TierChange.objects.filter(model=model, status=TierChangeStatus.PENDING).exists():
        raise InvalidTransition(
            f"A tier change of {model.name} is already pending a risk officer's decision; it must be decided "
            "before the questionnaire is answered again.",
            fields={"tier_answers": ["A tier change is already pending."]},
        )
    change = TierChange.objects.create(
        model=model,
        answers=answers,
        rule=rule,
        current_tier=model.risk_tier,
        proposed_tier=proposed,
        requested_by=actor,
    )
    record(
        action="model.tier_change_requested",
        actor=actor,
        obj=model,
        before={"risk_tier": model.risk_tier, "tier_answers": model.tier_answers},
        after={"proposed_tier": proposed, "tier_answers": answers, "tier_change": change.pk},
    )
    return change


def _supersede_pending(actor: User, model: RegisteredModel, tier: int) -> None:
    """New answers that keep or raise the tier apply at once, and a lower tier still waiting is moot."""
    for change in TierChange.objects.select_for_update().filter(model=model, status=TierChangeStatus.PENDING):
        change.status, change.decided_at = TierChangeStatus.REJECTED, timezone.now()
        change.reason = (
            f"Superseded: {actor} answered the questionnaire again and the answers keep tier {tier}."
        )
        change.save(update_fields=["status", "decided_at", "reason"])
        record(
            action="model.tier_change_rejected",
            actor=actor,
            obj=model,
            after={"tier_change": change.pk, "superseded": True},
            reason=change.reason,
        )


def tier_change_decide(*, actor: User, change: TierChange, accept: bool, reason: str) -> TierChange:
    """A risk officer (or administrator) accepts or rejects a pending tier change, with a reason; never
    the person who asked for it. Accepting applies the answers under the rule they were given with."""
    if not access.may(actor, "decide_tier"):
        raise PermissionDenied("Only a risk officer or an administrator decides a tier change.")
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the tier change is accepted or rejected."]})
    with transaction.atomic():
        change = TierChange.objects.select_for_update().select_related("model", "rule").get(pk=change.pk)
        if change.status != TierChangeStatus.PENDING:
            raise InvalidTransition(f"Tier change #{change.pk} is {change.status}: it was already decided.")
        if change.requested_by_id == actor.pk:
            raise PermissionDenied(
                "Segregation of duties: the person who asked for a tier change cannot decide it."
            )
        model = RegisteredModel.objects.select_for_update().get(pk=change.model_id)
        before = {"risk_tier": model.risk_tier, "tier_answers": model.tier_answers}
        if accept:
            model.tier_answers, model.tier_rule = change.answers, change.rule
            _apply_tier(model, change.rule)
            model.next_review_due = _next_review(model)
            _validated(model, actor).save()
        change.status = TierChangeStatus.ACCEPTED if accept else TierChangeStatus.REJECTED
        change.decided_by, change.decided_at, change.reason = actor, timezone.now(), reason.strip()
        change.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        record(
            action="model.tier_change_accepted" if accept else "model.tier_change_rejected",
            actor=actor,
            obj=model,
            before=before,
            after={
                "risk_tier": model.risk_tier,
                "tier_answers": model.tier_answers,
                "tier_change": change.pk,
            },
            reason=change.reason,
        )
    return change
