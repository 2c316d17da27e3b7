"""Which thresholds a check run is judged against, and where each one comes from.

``resolve_thresholds(run)`` starts from the defaults below, lets each configured provider add or replace
values (the governance issue will register one that reads the model's policy), and finally applies the
thresholds given in the request. A provider can mark a value ``binding``; a binding value is not
replaced by the request. Every resolved value carries its ``source`` so a report can say why it applied.

Providers are dotted paths in ``ATTEST_THRESHOLD_PROVIDERS`` (setting or environment) to callables
``provider(run) -> dict[str, Threshold] | None``; they receive the unsaved or saved CheckRun and must not
write anything. Monitoring never imports the governance workflow: the dependency points the other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

from monitoring import conf
from monitoring.metrics.drift_config import EVIDENTLY_SOURCE

PSI_SOURCE = "default: PSI bands (< 0.1 stable, 0.1-0.25 moderate, >= 0.25 significant)"
FOUR_FIFTHS_SOURCE = "default: four-fifths rule (EEOC Uniform Guidelines, 29 CFR 1607.4(D))"
QUALITY_SOURCE = "default: monitoring.metrics.quality.QualityThresholds"
AUC_SOURCE = "default: ROC AUC of at least 0.7 (common minimum for acceptable discrimination)"


@dataclass(frozen=True)
class Threshold:
    """A threshold value, where it came from, and whether a later source may replace it."""

    value: float | None
    source: str
    binding: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "binding": self.binding}


# name -> (default, source, what it means); None means "not judged unless set".
KNOWN: dict[str, dict[str, tuple[float | None, str, str]]] = {
    "drift": {
        "psi_warn": (0.1, PSI_SOURCE, "a column warns when its PSI is at least this"),
        "psi_fail": (0.25, PSI_SOURCE, "a column fails when its PSI is at least this"),
        "drift_share": (0.5, EVIDENTLY_SOURCE, "the check fails when this share of columns drifted"),
    },
    "fairness": {
        "demographic_parity_ratio_min": (0.8, FOUR_FIFTHS_SOURCE, "fails below this selection-rate ratio"),
        "equalized_odds_difference_max": (None, "not set", "fails above this TPR/FPR difference"),
    },
    "performance": {
        "roc_auc_min": (0.7, AUC_SOURCE, "fails below this ROC AUC"),
        "accuracy_min": (None, "not set", "fails below this accuracy"),
        "f1_min": (None, "not set", "fails below this F1"),
        "r2_min": (None, "not set", "fails below this R² (regression)"),
        "rmse_max": (None, "not set", "fails above this RMSE (regression)"),
    },
    "explainability": {},
    "data_quality": {
        "missing_share_increase": (0.05, QUALITY_SOURCE, "a column warns when its missing share grows more"),
        "out_of_range_error_share": (
            0.05,
            QUALITY_SOURCE,
            "out-of-range values become an error at this share",
        ),
        "unseen_error_share": (0.05, QUALITY_SOURCE, "unseen categories become an error at this share"),
    },
}


def known_names(kind: str) -> list[str]:
    return sorted(KNOWN.get(kind, {}))


def defaults(kind: str) -> dict[str, Threshold]:
    return {name: Threshold(value, source) for name, (value, source, _) in KNOWN.get(kind, {}).items()}


def providers() -> list:
    return [import_string(path) for path in conf.get("ATTEST_THRESHOLD_PROVIDERS")]


def resolve_thresholds(run, requested: dict[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """The thresholds that apply to ``run``: defaults, then providers (policy), then the request.

    ``requested`` defaults to ``run.config["thresholds"]``. The answer is JSON (stored on the run).
    """
    resolved = defaults(run.kind)
    for provider in providers():
        for name, threshold in (provider(run) or {}).items():
            resolved[name] = threshold
    requested = run.config.get("thresholds", {}) if requested is None else requested
    for name, value in requested.items():
        current = resolved.get(name)
        if current is not None and current.binding:
            continue
        resolved[name] = Threshold(value, "request")
    return {name: threshold.as_dict() for name, threshold in sorted(resolved.items())}
