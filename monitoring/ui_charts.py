"""Charts for the check-run page, drawn with the charts the PDFs use (the neutral ``charts`` package).

A finished run never changes, so its charts are drawn once and cached under the run id and result digest.
Each chart comes back as inline SVG markup (our own matplotlib output, never user HTML: labels inside it
are SVG ``<text>`` escaped by matplotlib) with ``role="img"`` and a label, plus a sentence saying what
it shows for the figure caption.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

import charts
from monitoring import results, trends
from monitoring.metrics.catalogue import PSI_ALERT, PSI_WARN
from monitoring.models import CheckRun, RunStatus

CACHE_SECONDS = 24 * 3600
TOP_DRIFTED = 4
MAX_BEESWARM_FEATURES = 15
FOUR_FIFTHS = 0.8
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)


@dataclass(frozen=True)
class Chart:
    title: str
    caption: str
    svg: SafeString


def run_charts(run: CheckRun) -> list[Chart]:
    """The charts of a succeeded run (none for other states or for kinds without charts)."""
    if run.status != RunStatus.SUCCEEDED or not run.results:
        return []
    key = f"attest:ui-charts:v2:{run.pk}:{run.result_sha256}"  # v2: small fairness groups drawn
    drawn = cache.get(key)
    if drawn is None:
        drawn = [(c.title, c.caption, str(c.svg)) for c in _draw(run)]
        cache.set(key, drawn, CACHE_SECONDS)
    return [Chart(title, caption, mark_safe(svg)) for title, caption, svg in drawn]  # noqa: S308 (our SVG)


def _draw(run: CheckRun) -> list[Chart]:
    drawer: Callable[[CheckRun, Any], list[Chart]] | None = {
        "drift": _drift,
        "fairness": _fairness,
        "explainability": _explainability,
        "performance": _performance,
    }.get(run.kind)
    return drawer(run, results.of(run)) if drawer is not None else []


def _inline(svg: bytes, title: str) -> SafeString:
    """The SVG document as an element to put in HTML: no XML prologue, an accessible name."""
    markup = _PROLOGUE.sub("", svg.decode("utf-8"), count=1)
    markup = markup.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return mark_safe(markup)  # noqa: S308 (matplotlib's SVG of our own numbers)


def _chart(title: str, caption: str, svg: bytes) -> Chart:
    return Chart(title=title, caption=caption, svg=_inline(svg, title))


def _threshold(run: CheckRun, name: str, default: float) -> float:
    value = (run.thresholds.get(name) or {}).get("value")
    return default if value is None else float(value)


# ------------------------------------------------------------------------------------------------ drift


def _drift(run: CheckRun, stored: results.DriftResults) -> list[Chart]:
    bars = [bar for bar in stored.charts.psi_bars if bar.psi is not None]
    if not bars:
        return []
    warn, alert = _threshold(run, "psi_warn", PSI_WARN), _threshold(run, "psi_fail", PSI_ALERT)
    found = [
        _chart(
            "PSI per feature",
            f"Population stability index per feature, highest first; dashed lines at {warn:g} (moderate) "
            f"and {alert:g} (significant).",
            charts.psi_chart({bar.column: bar.psi for bar in bars}, warn=warn, alert=alert),
        )
    ]
    ranked = [bar.column for bar in sorted(bars, key=lambda bar: -bar.psi)]
    by_column = {item.column: item for item in stored.charts.distributions}
    top = [_distribution(by_column[name]) for name in ranked if name in by_column][:TOP_DRIFTED]
    if top:
        found.append(
            _chart(
                "Reference and current distributions",
                f"Share of rows per bin or category in the reference and current data, for the {len(top)} "
                "most drifted feature(s).",
                charts.distributions_chart(top),
            )
        )
    return found


def _distribution(item: results.DistributionData) -> charts.Distribution:
    labels = [str(label) for label in item.labels] if item.type == "categories" else _bin_labels(item.edges)
    return charts.Distribution(
        feature=item.column,
        labels=labels,
        reference=[share or 0.0 for share in item.reference_shares],
        current=[share or 0.0 for share in item.current_shares],
    )


def _bin_labels(edges: list[float | None]) -> list[str]:
    """Labels of the bins (-inf, e1), [e1, e2), ..., [ek, inf) around the inner edges."""
    if not edges:
        return ["all values"]
    text = [f"{edge:.3g}" if edge is not None else "?" for edge in edges]
    middle = [f"[{low}, {high})" for low, high in itertools.pairwise(text)]
    return [f"< {text[0]}", *middle, f"≥ {text[-1]}"]


# --------------------------------------------------------------------------------------------- fairness


def _fairness(run: CheckRun, stored: results.FairnessResults) -> list[Chart]:
    """Selection rate per group against the parity line; groups below ``min_group_size`` are drawn too,
    grey and hatched and labelled "not judged", as the report's chart and table show them."""
    ratio = _threshold(
        run, "demographic_parity_ratio_min", stored.charts.disparate_impact_line or FOUR_FIFTHS
    )
    minimum = stored.metrics.fairness.min_group_size
    found = []
    for grouping in stored.charts.group_bars:
        shown = [group for group in grouping.groups if group.selection_rate is not None]
        judged = [group.selection_rate for group in shown if group.judged]
        if not judged:
            continue
        rates = {group.label: group.selection_rate for group in shown}
        small = {group.label: group.count for group in shown if not group.judged}
        line = ratio * max(judged)
        name = " & ".join(grouping.features)
        caption = (
            f"Share of positive predictions per group of {name}; the dashed line is {ratio:g} × the "  # noqa: RUF001
            f"highest judged group's rate ({line:.3g}): a group below it fails the demographic-parity ratio."
        )
        if small:
            fewer = f"fewer than {minimum} rows" if minimum is not None else "too few rows"
            caption += f" Grey hatched bars: groups with {fewer}, shown but not judged."
        found.append(
            _chart(
                f"Selection rate by {name}",
                caption,
                charts.fairness_chart(
                    "selection rate",
                    rates,
                    threshold=line,
                    higher_is_better=True,
                    not_judged=small,
                    min_group_size=minimum,
                ),
            )
        )
    return found


# --------------------------------------------------------------------------------------- explainability


def _explainability(run: CheckRun, stored: results.ExplainabilityResults) -> list[Chart]:
    importance = {
        item.feature: item.mean_abs_shap for item in stored.charts.shap_bar if item.mean_abs_shap is not None
    }
    if not importance:
        return []
    order = sorted(importance, key=lambda name: -importance[name])[:MAX_BEESWARM_FEATURES]
    points = {item.feature: item.points for item in stored.charts.beeswarm}
    swarm = [_beeswarm(name, points[name]) for name in order if name in points]
    found = [
        _chart(
            "Mean |SHAP| per feature",
            "Average absolute SHAP value per feature: how much each feature moves the model output.",
            charts.shap_bar_chart(importance),
        )
    ]
    if swarm:
        found.append(
            _chart(
                "SHAP values per row",
                "One dot per explained row and feature: its SHAP value (x) coloured by the feature's value "
                "(blue low, red high; grey when not numeric).",
                charts.shap_beeswarm_chart(swarm),
            )
        )
    return found


def _beeswarm(feature: str, pairs: list[list[Any]]) -> charts.BeeswarmFeature:
    shap_values = [pair[1] if pair[1] is not None else 0.0 for pair in pairs]
    values = [_number(pair[0]) for pair in pairs]
    return charts.BeeswarmFeature(feature=feature, shap_values=shap_values, feature_values=values)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


# ------------------------------------------------------------------------------------------ performance


def _performance(run: CheckRun, stored: results.PerformanceResults) -> list[Chart]:
    found = []
    matrix = stored.charts.confusion_matrix
    if matrix:
        found.append(
            _chart(
                "Confusion matrix",
                "Rows are the actual classes, columns the predicted ones; each cell counts rows.",
                charts.confusion_matrix_chart(matrix.matrix, matrix.labels),
            )
        )
    roc = stored.charts.roc
    if roc and roc.fpr:
        found.append(
            _chart(
                "ROC curve",
                "True-positive rate against false-positive rate over all score thresholds; the dotted "
                "diagonal is chance.",
                charts.roc_chart(roc.fpr, roc.tpr, auc=stored.metrics.performance.roc_auc),
            )
        )
    calibration = stored.charts.calibration
    if calibration and calibration.mean_predicted:
        found.append(
            _chart(
                "Calibration",
                "Observed share of positives against the mean predicted probability, per score bin; the "
                "dotted diagonal is perfect calibration.",
                charts.calibration_chart(calibration.mean_predicted, calibration.observed_rate),
            )
        )
    return found


# ------------------------------------------------------------------------------ trends and one feature


def trend_chart(trend: trends.Trend, *, cache_key: str) -> Chart:
    """One metric over a plan's runs with its threshold lines; points coloured as each run judged them.

    ``cache_key`` names the plan and its newest run: a new run draws the chart again.
    """
    key = f"attest:ui-trend:v1:{cache_key}:{_digest(trend.key)}"
    svg = cache.get(key)
    if svg is None:
        labels = trends.time_labels([point.at for point in trend.points])
        points = [
            charts.TimePoint(label=label, value=point.value, status=point.status)
            for label, point in zip(labels, trend.points, strict=True)
        ]
        svg = str(
            _inline(
                charts.time_series_chart(
                    trend.label, points, thresholds=trend.thresholds, log_scale=trend.log_scale
                ),
                trend.label,
            )
        )
        cache.set(key, svg, CACHE_SECONDS)
    lines = ", ".join(f"{value:g}" for value in trend.thresholds)
    caption = "Per check run, oldest first" + (
        f"; dashed line(s) at the threshold(s) applied: {lines}" if lines else "; no threshold applied"
    )
    if trend.log_scale:
        caption += " (log scale)"
    caption += ". Amber: the run warned; red: it failed."
    return Chart(title=trend.label, caption=caption, svg=mark_safe(svg))  # noqa: S308 (our SVG)


def feature_distribution_chart(run: CheckRun, item: results.DistributionData) -> Chart:
    """Reference and current shares of one feature of a drift run (cached per run and column)."""
    key = f"attest:ui-feature:v1:{run.pk}:{run.result_sha256}:{_digest(item.column)}"
    title = f"Reference and current distribution of {item.column}"
    svg = cache.get(key)
    if svg is None:
        svg = str(_inline(charts.distributions_chart([_distribution(item)], columns=1), title))
        cache.set(key, svg, CACHE_SECONDS)
    caption = (
        "Share of rows per category in the reference and current data."
        if item.type == "categories"
        else "Share of rows per PSI bin (edges from the reference data) in the reference and current data."
    )
    return Chart(title=title, caption=caption, svg=mark_safe(svg))  # noqa: S308 (our SVG)


def _digest(text: str) -> str:
    """A cache-key-safe name for a series or column (they hold spaces and quotes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def telemetry_chart(
    title: str, caption: str, points: list[charts.TimePoint], *, thresholds=(), key: str
) -> Chart:
    """One figure of a version's telemetry buckets over time (cached under the newest bucket's state)."""
    cache_key = f"attest:ui-telemetry:v1:{_digest(key + title)}"
    svg = cache.get(cache_key)
    if svg is None:
        svg = str(_inline(charts.time_series_chart(title, points, thresholds=thresholds), title))
        cache.set(cache_key, svg, CACHE_SECONDS)
    return Chart(title=title, caption=caption, svg=mark_safe(svg))  # noqa: S308 (our SVG)
