"""Policies and the control catalogue: versioned rules per risk tier, validated before they take effect."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from accounts import access
from accounts.models import User
from accounts.roles import ROLE_NAMES
from audit import record
from monitoring.thresholds import known_names
from registry.models.inventory import ModelKind
from registry.services import inventory
from workflow.models import EvidenceChange, EvidenceType, Policy
from workflow.models.approvals import Meaning
from workflow.models.findings import Severity
from workflow.policy_scope import checks_for
from workflow.thresholds import threshold_name

# How long an approval stage may stay open (``due_days`` on a stage): its default and range.
DEFAULT_STAGE_DUE_DAYS = 5
STAGE_DUE_DAYS_RANGE = (1, 90)
CHECK_KINDS = ("drift", "fairness", "explainability", "performance", "data_quality", "llm_evaluation")
RULE_FIELDS = (
    "name",
    "required_checks",
    "required_evidence",
    "stages",
    "gated_environments",
    "segregation",
    "review_frequency_months",
    "approval_valid_months",
    "blocking_finding_severity",
    "review_trigger_severity",
    "evidence_change",
    "model_wide_findings",
    "environment_promotions",
    "red_team_required",
    "red_team_tolerance",
    "judged_metric_minimums",
    "judge_kappa_minimum",
)
FINDING_SOURCES = ("check", "monitoring", "review")
SEGREGATION_PARTIES = ("requester", "submitter", "owner")


def policy_active(*, tier: int) -> Policy:
    """The policy in force for a risk tier (one is always active: defaults ship with the app)."""
    policy = Policy.objects.filter(tier=tier, is_active=True).first()
    if policy is None:
        raise ValidationError(
            {"tier": [f"No active policy for tier {tier}; an administrator must create one."]}
        )
    return policy


def policy_create_version(*, actor: User | None, tier: int, rules: dict[str, Any]) -> Policy:
    """Create the next version of the tier's policy from ``rules`` and make it the active one.

    The previous version stays (approvals made under it keep pointing at it) but is no longer active.
    """
    if actor is not None:
        access.require(actor, "administer")
    if tier not in (1, 2, 3):
        raise ValidationError({"tier": ["Must be 1, 2 or 3."]})
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({field: ["Unknown policy field."] for field in sorted(unknown)})
    cleaned = validate_rules(rules)
    with transaction.atomic():
        Policy.objects.select_for_update().filter(tier=tier).exists()
        previous = Policy.objects.filter(tier=tier, is_active=True).first()
        version = (Policy.objects.filter(tier=tier).aggregate(Max("version"))["version__max"] or 0) + 1
        Policy.objects.filter(tier=tier, is_active=True).update(is_active=False)
        policy = Policy.objects.create(
            tier=tier, version=version, is_active=True, created_by=actor, **cleaned
        )
        record(
            action="policy.created",
            actor=actor,
            obj=policy,
            after={"tier": tier, "version": version, **cleaned},
        )
        record(
            action="policy.activated",
            actor=actor,
            obj=policy,
            before={"version": previous.version} if previous else None,
            after={"version": version},
        )
        if previous is None or previous.review_frequency_months != policy.review_frequency_months:
            months = policy.review_frequency_months
            inventory.models_reschedule_reviews(
                tier=tier, reason=f"tier {tier} policy v{version} asks for a review every {months} months"
            )
    return policy


def review_interval_for_tier(tier: int) -> int | None:
    """The longest review interval (months) the tier's active policy allows; the registry's review dates
    use it (registered in ``GovernanceConfig.ready``)."""
    active = Policy.objects.filter(tier=tier, is_active=True)
    return active.values_list("review_frequency_months", flat=True).first()


def validate_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """Check a policy's rules for internal consistency; raises ValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    stages = rules.get("stages") or []
    stage_keys = _validate_stages(stages, errors)
    _validate_environments(rules.get("gated_environments") or {}, stage_keys, errors)
    _validate_promotions(rules.get("environment_promotions") or {}, rules.get("gated_environments"), errors)
    _validate_checks(rules.get("required_checks") or [], errors)
    _validate_evidence(rules.get("required_evidence") or [], errors)
    for field in ("blocking_finding_severity", "review_trigger_severity"):
        if field in rules and rules[field] not in Severity.values:
            errors[field] = [f"Must be one of {', '.join(Severity.values)}."]
    if "evidence_change" in rules and rules["evidence_change"] not in EvidenceChange.values:
        errors["evidence_change"] = [f"Must be one of {', '.join(EvidenceChange.values)}."]
    wide = rules.get("model_wide_findings") or []
    if not isinstance(wide, list) or set(wide) - set(FINDING_SOURCES):
        errors["model_wide_findings"] = [f"A list drawn from {', '.join(FINDING_SOURCES)}."]
    segregation = rules.get("segregation", list(SEGREGATION_PARTIES))
    if not isinstance(segregation, list) or set(segregation) - set(SEGREGATION_PARTIES):
        errors["segregation"] = [f"A list drawn from {', '.join(SEGREGATION_PARTIES)}."]
    for field in ("review_frequency_months", "approval_valid_months"):
        value = rules.get(field, 12)
        if not isinstance(value, int) or not 1 <= value <= 60:
            errors[field] = ["Months between 1 and 60."]
    if not isinstance(rules.get("red_team_required", False), bool):
        errors["red_team_required"] = ["true or false."]
    tolerance = rules.get("red_team_tolerance", 0.05)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance <= 1:
        errors["red_team_tolerance"] = ["An attack-success-rate difference from 0 to 1."]
    _validate_judged(rules, errors)
    if errors:
        raise ValidationError(errors)
    cleaned = {field: rules[field] for field in RULE_FIELDS if field in rules}
    cleaned.setdefault("segregation", list(SEGREGATION_PARTIES))
    cleaned["model_wide_findings"] = list(cleaned.get("model_wide_findings") or [])
    if "environment_promotions" in cleaned:
        cleaned["environment_promotions"] = {
            name: list(dict.fromkeys(covered))
            for name, covered in (cleaned["environment_promotions"] or {}).items()
            if covered
        }
    cleaned.setdefault("name", "")
    return cleaned


def _validate_judged(rules: dict[str, Any], errors: dict) -> None:
    minimums = rules.get("judged_metric_minimums") or {}
    if not isinstance(minimums, dict) or len(minimums) > 50:
        errors["judged_metric_minimums"] = ['An object of at most 50 metrics, e.g. {"Faithfulness": 0.8}.']
    else:
        for name, value in minimums.items():
            number_ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
            if not (isinstance(name, str) and 0 < len(name) <= 200 and number_ok):
                errors[f"judged_metric_minimums.{name}"] = ["A metric name and a mean score from 0 to 1."]
    kappa = rules.get("judge_kappa_minimum")
    if kappa is not None and (
        isinstance(kappa, bool) or not isinstance(kappa, int | float) or not -1 <= kappa <= 1
    ):
        errors["judge_kappa_minimum"] = ["Cohen's kappa from -1 to 1, or null."]


def _validate_stages(stages: Any, errors: dict) -> list[str]:
    if not isinstance(stages, list) or not stages:
        errors["stages"] = ["At least one approval stage is required."]
        return []
    keys = []
    for index, stage in enumerate(stages):
        where = f"stages[{index}]"
        if not isinstance(stage, dict):
            errors[where] = ["Each stage is an object with key, title, role, quorum and meaning."]
            continue
        if stage.get("role") not in ROLE_NAMES:
            errors[f"{where}.role"] = [f"Must be one of {', '.join(sorted(ROLE_NAMES))}."]
        if not isinstance(stage.get("quorum"), int) or stage["quorum"] < 1:
            errors[f"{where}.quorum"] = ["A whole number of distinct signers, at least 1."]
        if stage.get("meaning") not in Meaning.values:
            errors[f"{where}.meaning"] = [f"Must be one of {', '.join(Meaning.values)}."]
        due = stage.get("due_days", DEFAULT_STAGE_DUE_DAYS)
        low, high = STAGE_DUE_DAYS_RANGE
        if not isinstance(due, int) or isinstance(due, bool) or not low <= due <= high:
            errors[f"{where}.due_days"] = [
                f"Days a stage may stay open: a whole number from {low} to {high}."
            ]
        key = stage.get("key")
        if not isinstance(key, str) or not key or key in keys:
            errors[f"{where}.key"] = ["A unique, non-empty key."]
        keys.append(key)
    return keys


def _validate_environments(environments: Any, stage_keys: list[str], errors: dict) -> None:
    if not isinstance(environments, dict):
        errors["gated_environments"] = ['An object such as {"production": ["validation", "risk"]}.']
        return
    for environment, needed in environments.items():
        if not isinstance(needed, list) or set(needed) - set(stage_keys):
            errors[f"gated_environments.{environment}"] = ["A list of stage keys defined in 'stages'."]


def _validate_promotions(promotions: Any, environments: Any, errors: dict) -> None:
    """``{"production": ["staging"]}``: both sides gated environments of this policy, no environment
    covering itself, and the covering environment's stages include every stage the covered one needs
    (an approval never covers what it did not pass)."""
    if not isinstance(promotions, dict):
        errors["environment_promotions"] = ['An object such as {"production": ["staging"]}.']
        return
    gated = environments if isinstance(environments, dict) else {}
    for name, covered in promotions.items():
        where = f"environment_promotions.{name}"
        if name not in gated:
            errors[where] = [f"'{name}' is not a gated environment of this policy."]
            continue
        if not isinstance(covered, list) or not all(isinstance(item, str) for item in covered):
            errors[where] = ["A list of gated environments its approval also covers."]
            continue
        problems = []
        for other in covered:
            if other == name:
                problems.append(f"'{name}' cannot cover itself.")
            elif other not in gated:
                problems.append(f"'{other}' is not a gated environment of this policy.")
            elif missing := [key for key in gated[other] or [] if key not in (gated[name] or [])]:
                problems.append(
                    f"An approval for {name} cannot cover {other}: {other} needs stage(s) "
                    f"{', '.join(missing)}, which {name} does not."
                )
        if problems:
            errors[where] = problems


def _validate_checks(checks: Any, errors: dict) -> None:
    if not isinstance(checks, list):
        errors["required_checks"] = ["A list of {kind, metric, min|max} objects."]
        return
    for index, check in enumerate(checks):
        where = f"required_checks[{index}]"
        if not isinstance(check, dict) or check.get("kind") not in CHECK_KINDS:
            errors[where] = [f"kind must be one of {', '.join(CHECK_KINDS)}."]
            continue
        bounds = {key: check[key] for key in ("min", "max") if key in check}
        if bounds and "metric" not in check:
            errors[where] = ["A bound (min/max) needs the metric it applies to."]
        elif not isinstance(check.get("optional", False), bool):
            errors[where] = ["optional must be true or false."]
        elif unknown_keys := sorted(set(check) - {"kind", "metric", "min", "max", "optional", "model_kinds"}):
            errors[where] = [
                f"Unknown key {unknown_keys[0]!r}; use kind, metric, min, max, optional, model_kinds."
            ]
        elif "model_kinds" in check and not _valid_model_kinds(check["model_kinds"]):
            errors[where] = [f"model_kinds must be a non-empty list of {', '.join(ModelKind.values)}."]
        elif any(not isinstance(value, int | float) or isinstance(value, bool) for value in bounds.values()):
            errors[where] = ["min and max must be numbers."]
        elif unknown := _unknown_thresholds(check, bounds):
            errors[where] = [f"No {check['kind']} check judges {', '.join(unknown)}; it would never bind."]


def _valid_model_kinds(kinds: Any) -> bool:
    return (
        isinstance(kinds, list)
        and bool(kinds)
        and all(isinstance(kind, str) and kind in ModelKind.values for kind in kinds)
    )


def mandatory_kinds(required_checks: list[dict], model_kind: str | None = None) -> list[str]:
    """The check kinds an approval of a ``model_kind`` model needs a run of: those with an entry for its
    kind not marked ``optional``.

    An optional entry (``{"kind": "llm_evaluation", ..., "optional": true}``) binds its bounds to every
    run of its kind and a version's latest such run must pass, but a version without one is not held up.
    """
    checks = checks_for(required_checks, model_kind)
    return list(dict.fromkeys(c["kind"] for c in checks if not c.get("optional", False)))


def _unknown_thresholds(check: dict, bounds: dict) -> list[str]:
    """Bounds naming a threshold the check kind does not evaluate (e.g. a misspelt metric).

    Such a bound would be recorded on every run as binding yet never judged, and a run would then
    satisfy the policy without the metric ever being checked.
    """
    known = set(known_names(check["kind"]))
    names = (threshold_name(check["kind"], check["metric"], bound) for bound in bounds)
    return sorted(name for name in names if name not in known)


def _validate_evidence(types: Any, errors: dict) -> None:
    if not isinstance(types, list):
        errors["required_evidence"] = ["A list of evidence type keys."]
        return
    known = set(EvidenceType.objects.filter(key__in=types).values_list("key", flat=True))
    missing = [key for key in types if key not in known]
    if missing:
        errors["required_evidence"] = [f"Unknown evidence type(s): {', '.join(missing)}."]
