"""Alerts name what matters most: breaches ranked by status, then by how far past their threshold.

The numbers are those of the demo's first production batch (issue 11): the weakest signal
(`present_employment`, chi-square p = 0.032) used to title the alert while `age` (PSI 0.211, KS p ~ 1e-18)
was buried among the rest.
"""

from __future__ import annotations

import math

import pytest

from monitoring.checks.base import evaluation
from monitoring.metrics import catalogue
from monitoring.services.alerts import alert_title, rank_breaches


def drift_test(column: str, test: str, p_value: float) -> dict:
    return evaluation(
        metric=f"drift_test:{test}",
        scope=f"column {column!r}",
        value=p_value,
        threshold=0.05,
        status="warn",
        explanation=f"{test} on {column}: p = {p_value:g}",
    )


def psi(column: str, value: float, status: str = "warn", threshold: float = 0.1) -> dict:
    return evaluation(
        metric="psi",
        scope=f"column {column!r}",
        value=value,
        threshold=threshold,
        status=status,
        explanation=f"PSI of {column} = {value:g}",
    )


DEMO_BREACHES = [
    drift_test("present_employment", "chi_square", 0.03241),
    drift_test("present_residence_since", "chi_square", 0.003155),
    drift_test("property", "chi_square", 0.01043),
    psi("age", 0.21099),
    drift_test("age", "ks", 1.2357e-18),
    drift_test("housing", "chi_square", 0.003027),
    drift_test("job", "chi_square", 0.02891),
    drift_test("number_of_people_liable_for", "z_test", 0.02955),
    drift_test("sex", "z_test", 0.008267),
]


def test_it_ranks_the_strongest_evidence_first_and_the_weakest_last():
    ranked = rank_breaches(DEMO_BREACHES)

    scopes = [item["scope"] for item in ranked]
    assert scopes[0] == "column 'age'"
    assert scopes[-1] == "column 'present_employment'"
    assert ranked[0]["metric"] == "drift_test:ks"
    # p-values are ranked on the log scale of evidence: log(p) / log(alpha)
    assert ranked[0]["exceedance"] == pytest.approx(math.log(1.2357e-18) / math.log(0.05), rel=1e-6)
    # a PSI compares linearly with its band
    age_psi = next(item for item in ranked if item["metric"] == "psi")
    assert age_psi["exceedance"] == pytest.approx(2.1099, rel=1e-4)


def test_a_failing_metric_outranks_any_warning():
    breaches = [*DEMO_BREACHES, psi("duration", 0.26, status="fail", threshold=0.25)]

    ranked = rank_breaches(breaches)

    assert ranked[0]["scope"] == "column 'duration'"
    assert ranked[0]["status"] == "fail"


def test_the_title_names_the_worst_subject_with_all_its_breaching_metrics():
    title = alert_title("drift", rank_breaches(DEMO_BREACHES))

    assert title.startswith("Drift on column 'age': ")
    assert "Kolmogorov-Smirnov test p-value 1.24e-18" in title
    assert "population stability index 0.211" in title
    assert title.endswith("; 7 more subjects breach")
    assert "present_employment" not in title


@pytest.mark.parametrize(
    ("metric", "value", "threshold", "breaches"),
    [
        ("psi", 0.3, 0.25, True),
        ("psi", 0.2, 0.25, False),
        ("drift_test:ks", 0.01, 0.05, True),  # a small p-value is the bad side
        ("drift_test:ks", 0.44, 0.05, False),
        ("demographic_parity_ratio", 0.7, 0.8, True),
        ("equalized_odds_difference", 0.2, 0.1, True),
    ],
)
def test_each_metric_breaches_on_its_declared_side(metric, value, threshold, breaches):
    assert catalogue.metric(metric).breaches(value, threshold) is breaches


def test_an_undeclared_metric_cannot_be_judged():
    with pytest.raises(KeyError):
        evaluation(metric="made_up", scope="x", value=1.0, status="pass", explanation="")
