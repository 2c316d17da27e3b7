"""Inventory writes: registering and editing models, lifecycle moves, tier overrides, the tiering rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import access
from governance.audit import record
from governance.models import Team, User
from governance.roles import Role
from registry import tiering
from registry.models import ModelStatus, RegisteredModel, TieringRule
from registry.models.inventory import ALLOWED_TRANSITIONS
from registry.models.lineage import EdgeKind, LineageEdge
from registry.services import declarations

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
        "owner",
        "tier_answers",
        "eu_ai_act_category",
        "is_third_party",
        "vendor",
        "review_frequency_months",
        "last_reviewed_on",
        "valid_until",
        "tags",
        "lineage_namespace",
        "lineage_job",
        "favourable_label",
        "prohibited_features",
    }
)
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
    with transaction.atomic():
        rule = tiering_rule_current(actor=actor)
        model = RegisteredModel(
            team=team,
            name=name,
            title=title,
            owner=fields.pop("owner", None) or actor,
            created_by=actor,
            tier_answers=answers,
            tier_rule=rule,
            lineage_job=fields.pop("lineage_job", "") or name,
            **fields,
        )
        _apply_tier(model, rule)
        model.next_review_due = _next_review(model)
        _validated(model).save()
        _add_upstream(model, upstream)
        record(action="model.created", actor=actor, obj=model, after=model_facts(model, upstream=upstream))
    return model


def model_update(
    *, actor: User, model: RegisteredModel, upstream: list[RegisteredModel] | None = None, **changes
) -> RegisteredModel:
    """Change inventory fields. A new questionnaire re-tiers the model under the rule now in force;
    ``upstream`` (when given) replaces the set of upstream model dependencies."""
    access.require(actor, "change", model)
    _check_fields(changes)
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        before = model_facts(model)
        if "tier_answers" in changes:
            model.tier_answers = _answers(changes.pop("tier_answers"))
            model.tier_rule = tiering_rule_current(actor=actor)
            _apply_tier(model, model.tier_rule)
        for field, value in changes.items():
            setattr(model, field, value)
        model.next_review_due = _next_review(model)
        _validated(model).save()
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
    return model


def model_change_status(
    *, actor: User, model: RegisteredModel, status: str, reason: str = ""
) -> RegisteredModel:
    """Move the model along its lifecycle. Only ``ALLOWED_TRANSITIONS`` are accepted; approved and
    in production are reserved to administrators until the approval workflow sets them."""
    access.require(actor, "change", model)
    if status in GATED_STATUSES and not access.has_role(actor, Role.ADMIN):
        raise PermissionDenied(
            f"The status {status!r} is set by the approval workflow and the deployment gate."
        )
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        allowed = ALLOWED_TRANSITIONS[model.status]
        if status not in allowed:
            options = ", ".join(sorted(allowed)) or "none (retired is final)"
            raise ValidationError(
                {"status": [f"Cannot move from {model.status!r} to {status!r}; allowed: {options}."]}
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
    allowed = ALLOWED_TRANSITIONS[model.status]
    if status not in allowed:
        raise ValidationError({"status": [f"Cannot move from {model.status!r} to {status!r}."]})
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


def model_override_tier(
    *, actor: User, model: RegisteredModel, tier: int | None, reason: str
) -> RegisteredModel:
    """Override the computed tier (or clear the override with ``tier=None``); risk officers and
    administrators only, always with a reason, which the audit event keeps."""
    if not access.has_role(actor, Role.RISK_OFFICER, Role.ADMIN):
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
        raise ValidationError({name: ["This field cannot be set here."] for name in sorted(unknown)})
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


def _validated(model: RegisteredModel) -> RegisteredModel:
    model.full_clean(exclude=["team", "owner", "created_by", "tier_rule"])
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
