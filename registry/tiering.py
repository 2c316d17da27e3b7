"""Risk tier from the tiering questionnaire under a tiering rule. Pure functions: no database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FACTORS = ("materiality", "complexity", "reliance", "regulatory_exposure")
LEVELS = {"low": 1, "medium": 2, "high": 3}
TIERS = (1, 2, 3)

# The rule in force until an administrator records another one: equal weights, a sum of 4..12;
# 10 and above is tier 1, 7 and above tier 2; a high regulatory exposure or materiality is never tier 3.
DEFAULT_RULE: dict[str, Any] = {
    "weights": dict.fromkeys(FACTORS, 1),
    "thresholds": {"tier1": 10, "tier2": 7},
    "floors": {"regulatory_exposure": {"high": 2}, "materiality": {"high": 2}},
}


class TieringError(ValueError):
    """A questionnaire or a rule that does not make sense; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def validate_answers(answers: Mapping[str, Any]) -> dict[str, str]:
    """Every factor answered with low, medium or high; nothing else."""
    if not isinstance(answers, Mapping):
        raise TieringError("tier_answers", "Expected an object with one answer per factor.")
    unknown = sorted(set(answers) - set(FACTORS))
    if unknown:
        raise TieringError("tier_answers", f"Unknown factor(s): {', '.join(unknown)}.")
    clean = {}
    for factor in FACTORS:
        value = answers.get(factor)
        if value not in LEVELS:
            raise TieringError(f"tier_answers.{factor}", "Answer low, medium or high.")
        clean[factor] = value
    return clean


def validate_rule(weights: Any, thresholds: Any, floors: Any) -> None:
    """A rule covers every factor with a non-negative number and orders its thresholds."""
    if not isinstance(weights, Mapping) or set(weights) != set(FACTORS):
        raise TieringError("weights", f"Give one weight for each of: {', '.join(FACTORS)}.")
    if any(not isinstance(w, int | float) or isinstance(w, bool) or w < 0 for w in weights.values()):
        raise TieringError("weights", "Weights are non-negative numbers.")
    if not isinstance(thresholds, Mapping) or set(thresholds) != {"tier1", "tier2"}:
        raise TieringError("thresholds", 'Give "tier1" and "tier2" score thresholds.')
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in thresholds.values()):
        raise TieringError("thresholds", "Thresholds are numbers.")
    if thresholds["tier1"] < thresholds["tier2"]:
        raise TieringError("thresholds", "The tier 1 threshold must be at least the tier 2 threshold.")
    _validate_floors(floors)


def _validate_floors(floors: Any) -> None:
    if not isinstance(floors, Mapping):
        raise TieringError("floors", "Expected an object: {factor: {answer: tier}}.")
    for factor, by_answer in floors.items():
        if factor not in FACTORS or not isinstance(by_answer, Mapping):
            raise TieringError("floors", f"Unknown factor {factor!r}.")
        if any(answer not in LEVELS or tier not in TIERS for answer, tier in by_answer.items()):
            raise TieringError("floors", f"Floors for {factor!r} map low/medium/high to a tier 1, 2 or 3.")


def score(answers: Mapping[str, str], weights: Mapping[str, float]) -> float:
    return sum(weights[factor] * LEVELS[answers[factor]] for factor in FACTORS)


def compute_tier(answers: Mapping[str, str], rule: Mapping[str, Any]) -> int:
    """The tier the rule gives these answers: thresholds first, then the floors can only raise risk."""
    total = score(answers, rule["weights"])
    thresholds = rule["thresholds"]
    tier = 1 if total >= thresholds["tier1"] else 2 if total >= thresholds["tier2"] else 3
    for factor, by_answer in (rule.get("floors") or {}).items():
        floor = by_answer.get(answers[factor])
        if floor is not None:
            tier = min(tier, floor)
    return tier
