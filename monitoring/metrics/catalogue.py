"""Every judged metric, declared once: its name, label, unit, direction, default bands and judgement.

Checks judge with these declarations, and everything that shows a judged number afterwards reads them
by the evaluation's ``metric`` name: the run page's tables and charts, the report charts (threshold
lines, which side breaches, log scale for p-values), monitoring summaries, alert ranking and findings.
A p-value and a PSI can therefore never be drawn the same way: a p-value is *lower is worse*, a PSI
*higher is worse*, and both facts live here only.

Adding a statistic is adding one :class:`Metric` below (with its bands) and the function that computes
it; a drift test is declared in ``drift_statistics.TESTS`` instead, and its ``drift_test:<name>`` metric
follows from that declaration. Default bands become the check's default thresholds (``monitoring.thresholds``), each with the
source that justifies it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .drift_config import EVIDENTLY_SOURCE, TESTS, DriftConfig

HIGHER_IS_WORSE = "higher_is_worse"
LOWER_IS_WORSE = "lower_is_worse"
JUDGED_BY_RULE = "judged_by_rule"  # no threshold to compare with: the rule itself gives the status

PSI_SOURCE = (
    f"default: PSI bands (< {DriftConfig.psi_moderate:g} stable, {DriftConfig.psi_moderate:g}-"
    f"{DriftConfig.psi_significant:g} moderate, >= {DriftConfig.psi_significant:g} significant)"
)
FOUR_FIFTHS_SOURCE = "default: four-fifths rule (EEOC Uniform Guidelines, 29 CFR 1607.4(D))"
QUALITY_SOURCE = "default: monitoring.metrics.quality.QualityThresholds"
AUC_SOURCE = "default: ROC AUC of at least 0.7 (common minimum for acceptable discrimination)"
NOT_SET = "not set"
SHAP_SHARE_SOURCE = (
    "default: Attest's starting bound (no regulation sets a number): sensitive features may carry at most "
    "a tenth of the model's attribution; a policy should set its own"
)
PROHIBITED_SOURCE = (
    "default: 0, any reliance on a declared prohibited feature fails (Attest's starting bound; "
    "a policy may set its own)"
)
STABILITY_SOURCE = (
    "default: Attest's starting bound: τ-b ≥ 0.5, i.e. at least 3 in 4 pairs of top features ordered as in "
    "the baseline; a policy should set its own"
)
PII_SOURCE = (
    "default: 0, any output that leaks a Luhn-valid card number, a mod-97-valid IBAN, an e-mail address or "
    "a valid phone number fails (Attest's starting bound; a policy may set its own)"
)
LLM_NOT_SET = "not set: no default is honest for every application; a policy or the request sets it"


@dataclass(frozen=True)
class Band:
    """A threshold that judges a metric: its name in the run's ``thresholds``, default, source and effect.

    ``status`` is what crossing it gives (``warn`` or ``fail``); ``default`` None means "not judged unless
    set" (by a policy or the request).
    """

    name: str
    default: float | None
    source: str
    meaning: str
    status: str = "fail"


@dataclass(frozen=True)
class Metric:
    """One judged metric.

    ``direction`` says which side of a threshold is bad; ``scale`` how charts draw it (``log`` for
    p-values, which span many orders of magnitude); ``judgement`` one sentence on how it is judged.
    """

    name: str
    label: str
    check: str
    unit: str
    direction: str
    judgement: str
    bands: tuple[Band, ...] = ()
    scale: str = "linear"

    @property
    def lower_is_worse(self) -> bool:
        return self.direction == LOWER_IS_WORSE

    @property
    def comparison(self) -> str:
        """The comparison a value must satisfy to pass: ``>=`` (lower is worse) or ``<=`` (higher is)."""
        return {LOWER_IS_WORSE: ">=", HIGHER_IS_WORSE: "<="}.get(self.direction, "")

    def breaches(self, value: float | None, threshold: float | None) -> bool:
        """True when ``value`` is on the bad side of ``threshold`` (never for a missing value)."""
        if value is None or threshold is None or not math.isfinite(value):
            return False
        if self.direction == LOWER_IS_WORSE:
            return value < threshold
        if self.direction == HIGHER_IS_WORSE:
            return value > threshold
        return False

    def exceedance(self, value: float | None, threshold: float | None) -> float:
        """How far past its threshold a value is, as a ratio comparable across metrics (1 = at it).

        Distances and indices compare linearly (PSI 0.21 against 0.1 is 2.1); p-values compare on the
        log scale, the scale of evidence (p = 1e-18 against 0.05 is 13.8, p = 0.03 is 1.2). Unknown or
        unjudged values rank last (0).
        """
        if value is None or threshold is None or not math.isfinite(value) or not math.isfinite(threshold):
            return 0.0
        if self.scale == "log":
            floor = 1e-300  # a p-value of exactly 0 is the strongest evidence there is
            return math.log(max(value, floor)) / math.log(threshold) if 0 < threshold < 1 else 0.0
        if self.direction == HIGHER_IS_WORSE:
            return value / threshold if threshold > 0 else (math.inf if value > 0 else 0.0)
        if self.direction == LOWER_IS_WORSE:
            return threshold / value if value > 0 else math.inf
        return 0.0

    def format(self, value: float | None) -> str:
        """The value as a reader should see it: p-values below 0.001 in scientific notation."""
        if value is None:
            return "—"
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not math.isfinite(value):
            return str(value)
        if self.scale == "log" and value != 0 and abs(value) < 1e-3:
            return f"{value:.2e}"
        return f"{value:.4g}"


def _drift_test(name: str) -> Metric:
    test = TESTS[name]
    if test.is_p_value:
        return Metric(
            name=f"drift_test:{name}",
            label=f"{test.label} p-value",
            check="drift",
            unit="p-value",
            direction=LOWER_IS_WORSE,
            judgement=f"a column drifts when p < alpha (default {test.default_threshold:g}); a drifted column warns",
            scale="log",
        )
    return Metric(
        name=f"drift_test:{name}",
        label=test.label,
        check="drift",
        unit="distance",
        direction=HIGHER_IS_WORSE,
        judgement=f"a column drifts when the distance >= its threshold (default {test.default_threshold:g}); "
        "a drifted column warns",
    )


def _llm(name: str, label: str, unit: str, direction: str, band: Band) -> Metric:
    side = "below" if direction == LOWER_IS_WORSE else "above"
    return Metric(
        name=name,
        label=label,
        check="llm_evaluation",
        unit=unit,
        direction=direction,
        judgement=f"overall and per slice group (of at least min_slice_rows rows): fails {side} {band.name}",
        bands=(band,),
    )


def _quality(code: str, label: str) -> Metric:
    return Metric(
        name=code,
        label=label,
        check="data_quality",
        unit="share of rows",
        direction=JUDGED_BY_RULE,
        judgement="an error issue fails, a warning warns, an info is only reported",
    )


_DECLARED: tuple[Metric, ...] = (
    # drift
    Metric(
        name="psi",
        label="population stability index",
        check="drift",
        unit="index",
        direction=HIGHER_IS_WORSE,
        judgement="pass below psi_warn, warn from psi_warn, fail from psi_fail",
        bands=(
            Band(
                "psi_warn",
                DriftConfig.psi_moderate,
                PSI_SOURCE,
                "a column warns when its PSI is at least this",
                "warn",
            ),
            Band(
                "psi_fail",
                DriftConfig.psi_significant,
                PSI_SOURCE,
                "a column fails when its PSI is at least this",
            ),
        ),
    ),
    *(_drift_test(name) for name in TESTS),
    Metric(
        name="drift_test",
        label="drift test",
        check="drift",
        unit="",
        direction=JUDGED_BY_RULE,
        judgement="a column that cannot be tested (no valid values on one side) warns",
    ),
    Metric(
        name="share_of_drifted_columns",
        label="share of drifted columns",
        check="drift",
        unit="share",
        direction=HIGHER_IS_WORSE,
        judgement="the dataset drifts (fail) when this share of its tested columns drifted",
        bands=(
            Band(
                "drift_share",
                DriftConfig.drift_share,
                EVIDENTLY_SOURCE,
                "the check fails when this share of columns drifted",
            ),
        ),
    ),
    # fairness
    Metric(
        name="demographic_parity_ratio",
        label="demographic parity ratio",
        check="fairness",
        unit="ratio",
        direction=LOWER_IS_WORSE,
        judgement="the lowest group selection rate over the highest must be at least the threshold",
        bands=(
            Band(
                "demographic_parity_ratio_min",
                0.8,
                FOUR_FIFTHS_SOURCE,
                "fails below this selection-rate ratio",
            ),
        ),
    ),
    Metric(
        name="equalized_odds_difference",
        label="equalized odds difference",
        check="fairness",
        unit="difference",
        direction=HIGHER_IS_WORSE,
        judgement="the largest TPR or FPR gap between groups must be at most the threshold",
        bands=(Band("equalized_odds_difference_max", None, NOT_SET, "fails above this TPR/FPR difference"),),
    ),
    # performance
    Metric(
        name="roc_auc",
        label="ROC AUC",
        check="performance",
        unit="",
        direction=LOWER_IS_WORSE,
        judgement="fails below roc_auc_min",
        bands=(Band("roc_auc_min", 0.7, AUC_SOURCE, "fails below this ROC AUC"),),
    ),
    Metric(
        name="accuracy",
        label="accuracy",
        check="performance",
        unit="share",
        direction=LOWER_IS_WORSE,
        judgement="fails below accuracy_min",
        bands=(Band("accuracy_min", None, NOT_SET, "fails below this accuracy"),),
    ),
    Metric(
        name="f1",
        label="F1 score",
        check="performance",
        unit="",
        direction=LOWER_IS_WORSE,
        judgement="fails below f1_min",
        bands=(Band("f1_min", None, NOT_SET, "fails below this F1"),),
    ),
    Metric(
        name="r2",
        label="R²",
        check="performance",
        unit="",
        direction=LOWER_IS_WORSE,
        judgement="fails below r2_min",
        bands=(Band("r2_min", None, NOT_SET, "fails below this R² (regression)"),),
    ),
    Metric(
        name="rmse",
        label="RMSE",
        check="performance",
        unit="target unit",
        direction=HIGHER_IS_WORSE,
        judgement="fails above rmse_max",
        bands=(Band("rmse_max", None, NOT_SET, "fails above this RMSE (regression)"),),
    ),
    # reported but not judged by default: declared for their direction (comparisons colour their changes)
    *(
        Metric(
            name=name, label=label, check="performance", unit=unit, direction=direction, judgement="reported"
        )
        for name, label, unit, direction in (
            ("precision", "precision", "share", LOWER_IS_WORSE),
            ("recall", "recall", "share", LOWER_IS_WORSE),
            ("gini", "Gini coefficient", "", LOWER_IS_WORSE),
            ("mae", "mean absolute error", "target unit", HIGHER_IS_WORSE),
        )
    ),
    *(
        Metric(name=name, label=label, check="fairness", unit=unit, direction=direction, judgement="reported")
        for name, label, unit, direction in (
            ("demographic_parity_difference", "demographic parity difference", "difference", HIGHER_IS_WORSE),
            ("disparate_impact", "disparate impact", "ratio", LOWER_IS_WORSE),
            ("equal_opportunity_difference", "equal opportunity difference", "difference", HIGHER_IS_WORSE),
            ("equal_opportunity_ratio", "equal opportunity ratio", "ratio", LOWER_IS_WORSE),
            ("equalized_odds_ratio", "equalized odds ratio", "ratio", LOWER_IS_WORSE),
        )
    ),
    # explainability
    Metric(
        name="shap_additivity",
        label="SHAP additivity deviation",
        check="explainability",
        unit="output units",
        direction=HIGHER_IS_WORSE,
        judgement="a diagnostic: base + Σ SHAP must equal the model output within the tolerance, else warn",
    ),
    Metric(
        name="sensitive_shap_share",
        label="share of |SHAP| on sensitive features",
        check="explainability",
        unit="share of total mean |SHAP|",
        direction=HIGHER_IS_WORSE,
        judgement="the declared sensitive features may carry at most sensitive_shap_share_max of the total "
        "mean |SHAP|, else fail; not judged when no sensitive feature is declared",
        bands=(
            Band(
                "sensitive_shap_share_max",
                0.1,
                SHAP_SHARE_SOURCE,
                "fails when the sensitive features carry more than this share of the total mean |SHAP|",
            ),
        ),
    ),
    Metric(
        name="prohibited_shap_share",
        label="share of |SHAP| on prohibited features",
        check="explainability",
        unit="share of total mean |SHAP|",
        direction=HIGHER_IS_WORSE,
        judgement="the declared prohibited features may carry at most prohibited_shap_share_max (default 0: "
        "any reliance) of the total mean |SHAP|, else fail; judged only when prohibited features are declared",
        bands=(
            Band(
                "prohibited_shap_share_max",
                0.0,
                PROHIBITED_SOURCE,
                "fails when the prohibited features carry more than this share of the total mean |SHAP|",
            ),
        ),
    ),
    Metric(
        name="top_feature_rank_stability",
        label="top-feature rank stability (Kendall τ-b)",
        check="explainability",
        unit="Kendall τ-b",
        direction=LOWER_IS_WORSE,
        judgement="Kendall's τ-b between the mean-|SHAP| ranking and the baseline's (the reference dataset or "
        "an earlier run) over their top-k features must be at least the threshold, else warn",
        bands=(
            Band(
                "top_feature_rank_stability_min",
                0.5,
                STABILITY_SOURCE,
                "warns below this rank agreement with the baseline",
                "warn",
            ),
        ),
    ),
    # data quality
    _quality("missing_column", "missing column"),
    _quality("extra_column", "extra column"),
    _quality("kind_changed", "column kind changed"),
    _quality("dtype_changed", "dtype changed"),
    _quality("all_missing", "all values missing"),
    _quality("missing_share_increased", "missing share increased"),
    _quality("infinite_values", "infinite values"),
    _quality("out_of_range", "values out of the reference range"),
    _quality("unseen_categories", "unseen categories"),
    _quality("issues", "data-quality issues"),
    # LLM evaluation (monitoring.metrics.text and .pii: definitions there)
    _llm(
        "exact_match",
        "exact match (SQuAD-normalised)",
        "share of rows",
        LOWER_IS_WORSE,
        Band("exact_match_min", None, LLM_NOT_SET, "fails below this share of exact matches"),
    ),
    _llm(
        "token_f1",
        "token F1 (SQuAD)",
        "mean over rows",
        LOWER_IS_WORSE,
        Band("token_f1_min", None, LLM_NOT_SET, "fails below this mean token F1"),
    ),
    _llm(
        "rouge_l",
        "ROUGE-L F-measure",
        "mean over rows",
        LOWER_IS_WORSE,
        Band("rouge_l_min", None, LLM_NOT_SET, "fails below this mean ROUGE-L"),
    ),
    _llm(
        "answer_support",
        "answer support by the retrieved context",
        "mean share of n-grams",
        LOWER_IS_WORSE,
        Band("answer_support_min", None, LLM_NOT_SET, "fails below this mean share of supported n-grams"),
    ),
    _llm(
        "refusal_rate",
        "refusal rate",
        "share of rows",
        HIGHER_IS_WORSE,
        Band("refusal_rate_max", None, LLM_NOT_SET, "fails above this share of refusals"),
    ),
    _llm(
        "pii_leak_rate",
        "PII leakage rate",
        "share of rows",
        HIGHER_IS_WORSE,
        Band("pii_leak_rate_max", 0.0, PII_SOURCE, "fails above this share of outputs leaking PII"),
    ),
    # production telemetry of LLM applications (OTLP intake): judged per time bucket, not judged unless set
    *(
        Metric(
            name=name,
            label=label,
            check="telemetry",
            unit=unit,
            direction=HIGHER_IS_WORSE,
            judgement=f"a bucket with enough calls fails when its {label} exceeds {band}",
            bands=(Band(band, None, NOT_SET, f"fails when a bucket's {label} exceeds this"),),
        )
        for name, label, unit, band in (
            ("guardrail_block_rate", "guardrail block rate", "share of calls", "max_block_rate"),
            ("guardrail_flag_rate", "guardrail flag rate", "share of calls", "max_flag_rate"),
            ("telemetry_refusal_rate", "refusal rate in production", "share of calls", "max_refusal_rate"),
            ("latency_p95", "p95 latency", "seconds", "max_p95_latency_seconds"),
        )
    ),
)
# Thresholds a check reads that belong to no single metric's value (quality's limits turn issues into errors).
_CHECK_THRESHOLDS: dict[str, tuple[Band, ...]] = {
    "data_quality": (
        Band(
            "missing_share_increase", 0.05, QUALITY_SOURCE, "a column warns when its missing share grows more"
        ),
        Band(
            "out_of_range_error_share",
            0.05,
            QUALITY_SOURCE,
            "out-of-range values become an error at this share",
        ),
        Band("unseen_error_share", 0.05, QUALITY_SOURCE, "unseen categories become an error at this share"),
    ),
}

METRICS: dict[str, Metric] = {metric.name: metric for metric in _DECLARED}
if len(METRICS) != len(_DECLARED):  # one declaration per metric: a second one would silently win
    raise RuntimeError(
        f"metrics declared twice: {sorted(n for n in METRICS if sum(m.name == n for m in _DECLARED) > 1)}"
    )
UNDECLARED = Metric(
    name="",
    label="",
    check="",
    unit="",
    direction=JUDGED_BY_RULE,
    judgement="not declared in monitoring.metrics.catalogue",
)


def metric(name: str) -> Metric:
    """The declaration of ``name``; KeyError for a metric nobody declared (a programming error)."""
    found = _declared(name)
    if found is None:
        raise KeyError(name)
    return found


def lookup(name: str) -> Metric:
    """The declaration of ``name``, or a neutral one for names in results stored before a declaration."""
    return _declared(name) or replace(UNDECLARED, name=name, label=name)


def _declared(name: str) -> Metric | None:
    # A drift statistic's metric follows its declaration in drift_statistics.TESTS, also one added after
    # this module was imported (METRICS holds those known then, for the policy editor's list).
    prefix, _, test = name.partition(":")
    if prefix == "drift_test" and test in TESTS:
        return _drift_test(test)
    return METRICS.get(name)


def thresholds_of(check: str) -> tuple[Band, ...]:
    """Every threshold a check of kind ``check`` is judged with, in declaration order."""
    bands = [band for metric in _DECLARED if metric.check == check for band in metric.bands]
    return (*bands, *_CHECK_THRESHOLDS.get(check, ()))


def band(check: str, name: str) -> Band:
    """The declared threshold ``name`` of ``check`` (KeyError when it is not declared)."""
    for item in thresholds_of(check):
        if item.name == name:
            return item
    raise KeyError(f"{check} declares no threshold {name!r}")


# The PSI bands' defaults, read once for the charts' threshold lines (a run's own thresholds come first).
PSI_WARN = band("drift", "psi_warn").default
PSI_ALERT = band("drift", "psi_fail").default
