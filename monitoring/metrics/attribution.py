"""What a model's SHAP importance says about what it relies on, in numbers a check can judge.

Both functions read global importance, mean |SHAP| per feature (``explain_model``'s
``global_importance``), so they are indifferent to the sign convention of the explained output: a
binary classifier explained as P(bad) or as P(good) has the same |SHAP| values.

* :func:`attribution_share` — the share of the total mean |SHAP| carried by a set of features (the
  declared sensitive or prohibited ones). 0 means the model's output never moves with them; it does not
  measure reliance through proxies (a postcode standing in for ethnicity).
* :func:`rank_stability` — Kendall's τ-b between two importance rankings over the union of their top-k
  features. Kendall rather than Spearman because with five to ten features Spearman's squared rank
  distances let one displaced feature dominate, and τ reads directly: (1 + τ) / 2 is the share of
  feature pairs that the two rankings order the same way. Rather than plain top-k overlap because
  overlap cannot see order inside the top k (the most important feature could fall to fifth unnoticed);
  the overlap is reported beside τ.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from scipy.stats import kendalltau

from ._values import finite_or_none
from .errors import InvalidInputError

MIN_RANKED = 3  # below three features a rank correlation is +1 or -1 and says little


def importance_map(global_importance: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """``{feature: mean |SHAP|}`` from ``explain_model``'s ``global_importance`` (None counts as 0)."""
    return {str(item["feature"]): float(item.get("mean_abs_shap") or 0.0) for item in global_importance}


def attribution_share(importance: Mapping[str, float], features: Iterable[str]) -> dict[str, Any]:
    """Share of the total mean |SHAP| carried by ``features``, overall and per feature.

    Guarantees: ``share`` = Σ mean|SHAP| of ``features`` that are explained / Σ mean|SHAP| of every
    explained feature; names that are not explained features are listed in ``not_explained`` and add
    nothing. ``share`` is None (with ``reason``) when the total is 0: the model's output never moved.
    """
    _check_importance(importance)
    named = list(dict.fromkeys(str(name) for name in features))
    explained = [name for name in named if name in importance]
    total = math.fsum(importance.values())
    result: dict[str, Any] = {
        "features": named,
        "explained": explained,
        "not_explained": [name for name in named if name not in importance],
        "total_mean_abs_shap": total,
        "mean_abs_shap": math.fsum(importance[name] for name in explained),
    }
    if total <= 0:
        return result | {
            "share": None,
            "by_feature": dict.fromkeys(explained),
            "reason": "every SHAP value is 0 (the model's output did not move), so no share exists",
        }
    return result | {
        "share": result["mean_abs_shap"] / total,
        "by_feature": {name: importance[name] / total for name in explained},
        "reason": None,
    }


def rank_stability(
    current: Mapping[str, float], baseline: Mapping[str, float], *, top_k: int = 5
) -> dict[str, Any]:
    """Kendall's τ-b of the two importance rankings over the union of each one's top ``top_k`` features.

    The top k of a ranking are its ``top_k`` largest mean |SHAP| among features with a non-zero value
    (features the model never used have no rank). A feature missing from one ranking (e.g. a baseline of
    an earlier version with other inputs) counts there as 0. ``value`` is None (with ``reason``) when the
    union has fewer than three features or one side is constant over it.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise InvalidInputError(f"top_k must be a positive integer, not {top_k!r}")
    _check_importance(current)
    _check_importance(baseline)
    current_top, baseline_top = _top(current, top_k), _top(baseline, top_k)
    union = list(dict.fromkeys([*current_top, *baseline_top]))
    current_rank, baseline_rank = _ranks(current), _ranks(baseline)
    features = [
        {
            "feature": name,
            "current": current.get(name, 0.0),
            "baseline": baseline.get(name, 0.0),
            "current_rank": current_rank.get(name),
            "baseline_rank": baseline_rank.get(name),
            "missing_from": _missing_from(name, current, baseline),
        }
        for name in union
    ]
    shared = len(set(current_top) & set(baseline_top))
    result: dict[str, Any] = {
        "statistic": "kendall_tau_b",
        "top_k": top_k,
        "current_top": current_top,
        "baseline_top": baseline_top,
        "features": features,
        "overlap": shared / len(baseline_top) if baseline_top else None,
    }
    value, reason = _tau(union, current, baseline)
    return result | {"value": value, "reason": reason}


def _check_importance(importance: Mapping[str, float]) -> None:
    for name, value in importance.items():
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
        ):
            raise InvalidInputError(f"mean |SHAP| of {name!r} must be a finite number >= 0, not {value!r}")


def _top(importance: Mapping[str, float], k: int) -> list[str]:
    used = [(name, value) for name, value in importance.items() if value > 0]
    # ties keep the ranking's own order (explain_model sorts stably by importance)
    return [name for name, _ in sorted(used, key=lambda item: -item[1])[:k]]


def _ranks(importance: Mapping[str, float]) -> dict[str, int]:
    return {name: position for position, name in enumerate(_top(importance, len(importance)), start=1)}


def _missing_from(name: str, current: Mapping[str, float], baseline: Mapping[str, float]) -> str | None:
    if name not in baseline:
        return "baseline"
    if name not in current:
        return "current"
    return None


def _tau(
    union: list[str], current: Mapping[str, float], baseline: Mapping[str, float]
) -> tuple[float | None, str | None]:
    if len(union) < MIN_RANKED:
        return None, (
            f"only {len(union)} feature(s) with a non-zero importance among the top features; "
            f"a rank correlation needs at least {MIN_RANKED}"
        )
    x = [current.get(name, 0.0) for name in union]
    y = [baseline.get(name, 0.0) for name in union]
    if len(set(x)) < 2 or len(set(y)) < 2:
        return None, "one ranking gives every top feature the same importance, so it has no order"
    return finite_or_none(kendalltau(x, y, variant="b").statistic), None
