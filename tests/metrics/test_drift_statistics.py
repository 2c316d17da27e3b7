"""Each drift statistic against an independent reference (scipy, NumPy, a hand-worked example)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.stats.contingency import association

from monitoring.metrics import stattests
from monitoring.metrics._kernels import merge_numpy, merge_sorted, sorted_moments
from monitoring.metrics.drift import column_drift
from monitoring.metrics.drift_config import DriftConfig
from monitoring.metrics.profile import decile_edges, sorted_quantiles


def ks_via_merge(a, b, alpha=0.05):
    a, b = np.sort(a), np.sort(b)
    d_plus, d_minus, _, _ = merge_sorted(a, b)
    return stattests.ks_test(d_plus, d_minus, a, b, alpha=alpha)


@pytest.mark.parametrize(
    ("n1", "n2", "shift", "decimals"),
    [
        (50, 80, 0.0, None),
        (300, 300, 0.4, None),
        (1000, 700, 0.1, 1),  # heavy ties
        (2500, 4000, 0.05, None),
        (10_000, 9_999, 0.03, None),  # the largest sizes scipy still treats exactly
    ],
)
def test_it_matches_scipy_ks_where_scipy_is_exact(n1, n2, shift, decimals):
    rng = np.random.default_rng(n1 + n2)
    a = rng.normal(size=n1)
    b = rng.normal(shift, size=n2)
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    expected = stats.ks_2samp(a, b)
    result = ks_via_merge(a, b)
    assert result["p_value_method"] == "exact"
    assert result["statistic"] == float(expected.statistic)
    assert result["p_value"] == pytest.approx(float(expected.pvalue), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(
    ("n1", "n2", "shift"), [(12_000, 15_000, 0.0), (20_000, 11_000, 0.01), (30_000, 30_000, 0.5)]
)
def test_it_matches_scipy_ks_where_scipy_is_asymptotic(n1, n2, shift):
    rng = np.random.default_rng(n1)
    a = np.round(rng.normal(size=n1), 2)
    b = np.round(rng.normal(shift, size=n2), 2)
    expected = stats.ks_2samp(a, b)
    result = ks_via_merge(a, b)
    assert result["p_value_method"] == "asymp"
    assert result["statistic"] == float(expected.statistic)
    assert result["p_value"] == pytest.approx(float(expected.pvalue), rel=1e-12, abs=1e-300)


def test_it_uses_the_limiting_distribution_only_far_from_the_threshold():
    rng = np.random.default_rng(5)
    a = rng.normal(size=25_000)
    b = rng.normal(0.05, size=25_000)
    expected = stats.ks_2samp(a, b)
    result = ks_via_merge(a, b)
    assert result["p_value_method"] == "asymp-limit"
    assert result["statistic"] == float(expected.statistic)
    assert result["p_value"] == pytest.approx(float(expected.pvalue), rel=2e-2)
    assert (result["p_value"] < 0.05) == (expected.pvalue < 0.05)


def test_it_uses_scipys_finite_n_formula_near_the_threshold():
    effective_n = 12_500
    d = float(stats.kstwobign.isf(0.02)) / math.sqrt(effective_n)  # in the slow branch of kstwo.sf
    placeholder = np.zeros(25_000)
    result = stattests.ks_test(d, 0.0, placeholder, placeholder, alpha=0.02)
    assert result["p_value_method"] == "asymp"
    assert result["p_value"] == float(stats.kstwo.sf(d, effective_n))


@pytest.mark.parametrize("decimals", [None, 0, 1])
def test_it_matches_scipy_wasserstein(decimals):
    rng = np.random.default_rng(3)
    a = rng.lognormal(size=3000)
    b = rng.lognormal(0.1, size=2000)
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    _, _, area, _ = merge_sorted(np.sort(a), np.sort(b))
    assert area == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
    normalised = stattests.wasserstein(area, float(np.std(a)))["normalised"]
    assert normalised == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a), rel=1e-12)


def test_the_numpy_fallback_gives_the_compiled_merges_numbers():
    rng = np.random.default_rng(8)
    a = np.sort(np.round(rng.normal(size=999), 1))
    b = np.sort(np.round(rng.normal(0.2, size=1234), 1))
    compiled = merge_sorted(a, b)
    fallback = merge_numpy(a, b)
    assert compiled[0] == fallback[0]
    assert compiled[1] == fallback[1]
    assert compiled[2] == pytest.approx(fallback[2], rel=1e-12)
    assert compiled[3] == fallback[3] == len(np.union1d(a, b))


def test_psi_matches_a_hand_worked_example():
    # Reference 0..9 (ten values), bins=4: the inner edges are np.quantile(ref, [.25, .5, .75]) with linear
    # interpolation at positions 2.25, 4.5, 6.75 -> 2.25, 4.5, 6.75. Bins (-inf,2.25) [2.25,4.5) [4.5,6.75)
    # [6.75,inf): reference {0,1,2} {3,4} {5,6} {7,8,9} -> counts 3,2,2,3 -> shares .3 .2 .2 .3.
    # Current [0, 4.5, 4.5, 5, 6, 7, 8, 9, 9, 9]: 4.5 equals an edge and goes to the bin above ->
    # {0} {} {4.5,4.5,5,6} {7,8,9,9,9} -> counts 1,0,4,5 -> shares .1 0 .4 .5; the empty bin is floored at 1e-4.
    # PSI = (.1-.3)ln(.1/.3) + (1e-4-.2)ln(1e-4/.2) + (.4-.2)ln(.4/.2) + (.5-.3)ln(.5/.3)
    #     = 0.2 * 1.098612 + 0.1999 * 7.600902 + 0.2 * 0.693147 + 0.2 * 0.510826
    #     = 0.219722 + 1.519420 + 0.138629 + 0.102165 = 1.979937 (to 6 places)
    reference = np.arange(10, dtype=float)
    current = np.array([0, 4.5, 4.5, 5, 6, 7, 8, 9, 9, 9], dtype=float)
    result = column_drift(reference, current, config=_config(psi_bins=4))
    psi = result["statistics"]["psi"]
    assert psi["bins"]["edges"] == [2.25, 4.5, 6.75]
    assert psi["bins"]["reference_counts"] == [3, 2, 2, 3]
    assert psi["bins"]["current_counts"] == [1, 0, 4, 5]
    expected = (
        (0.1 - 0.3) * math.log(0.1 / 0.3)
        + (1e-4 - 0.2) * math.log(1e-4 / 0.2)
        + (0.4 - 0.2) * math.log(0.4 / 0.2)
        + (0.5 - 0.3) * math.log(0.5 / 0.3)
    )
    assert psi["value"] == pytest.approx(expected, rel=1e-12)
    assert psi["value"] == pytest.approx(1.979937, abs=1e-6)
    assert psi["band"] == "significant"


def test_psi_bands_follow_the_convention():
    bands = {"moderate": DriftConfig.psi_moderate, "significant": DriftConfig.psi_significant}
    assert bands == {"moderate": 0.1, "significant": 0.25}
    assert stattests.psi_band(0.0999, **bands) == "stable"
    assert stattests.psi_band(0.1, **bands) == "moderate"
    assert stattests.psi_band(0.2499, **bands) == "moderate"
    assert stattests.psi_band(0.25, **bands) == "significant"


def test_jensen_shannon_matches_scipy_on_the_psi_bins():
    rng = np.random.default_rng(11)
    a = rng.normal(size=4000)
    b = rng.normal(0.2, 1.3, size=3000)
    edges = np.quantile(a, np.linspace(0, 1, 11)[1:-1])
    bins = np.concatenate(([-np.inf], edges, [np.inf]))
    ref_counts, _ = np.histogram(a, bins=bins)
    cur_counts, _ = np.histogram(b, bins=bins)
    result = column_drift(a, b)["statistics"]["jensen_shannon"]
    assert result["binning"] == "psi bins"
    assert result["distance"] == pytest.approx(jensenshannon(ref_counts, cur_counts), abs=1e-12)


def test_categorical_statistics_match_scipy():
    rng = np.random.default_rng(2)
    reference = pd.Series(rng.choice(list("abcde"), 5000, p=[0.4, 0.3, 0.15, 0.1, 0.05]))
    current = pd.Series(rng.choice(list("abcdf"), 700, p=[0.35, 0.3, 0.2, 0.1, 0.05]))
    table = pd.crosstab(
        np.r_[np.zeros(len(reference)), np.ones(len(current))],
        np.r_[reference.to_numpy(), current.to_numpy()],
    ).to_numpy()
    expected = stats.chi2_contingency(table)
    result = column_drift(reference, current)
    chi = result["statistics"]["chi_square"]
    assert chi["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert chi["p_value"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert chi["dof"] == expected.dof == 5
    assert chi["effect_size"] == pytest.approx(association(table, method="cramer"), rel=1e-12)
    js = result["statistics"]["jensen_shannon"]["distance"]
    assert js == pytest.approx(jensenshannon(table[0], table[1]), abs=1e-12)
    assert result["statistics"]["unseen_categories"] == {"f": int((current == "f").sum())}


def test_chi_square_uses_yates_correction_for_two_categories_as_scipy_does():
    reference = np.array(["x"] * 30 + ["y"] * 70)
    current = np.array(["x"] * 45 + ["y"] * 55)
    chi = column_drift(reference, current)["statistics"]["chi_square"]
    expected = stats.chi2_contingency([[30, 70], [45, 55]])
    assert chi["yates_correction"] is True
    assert chi["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert chi["effect_size"] == pytest.approx(association([[30, 70], [45, 55]], method="cramer"), rel=1e-12)


def test_the_z_test_agrees_with_the_uncorrected_two_by_two_chi_square():
    reference = np.array([True] * 300 + [False] * 700)
    current = np.array([True] * 360 + [False] * 540)
    z = column_drift(reference, current)["statistics"]["z_test"]
    expected = stats.chi2_contingency([[700, 300], [540, 360]], correction=False)
    assert z["statistic"] ** 2 == pytest.approx(expected.statistic, rel=1e-12)
    assert z["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert z["proportion_of"] == "True"
    assert z["effect_size"] == pytest.approx(0.4 - 0.3)


def test_sorted_quantiles_equal_numpy_quantile_bit_for_bit():
    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 10, 11, 997, 10_000):
        values = np.sort(rng.normal(size=n) * 1e3)
        probabilities = np.linspace(0, 1, 11)[1:-1]
        assert np.array_equal(sorted_quantiles(values, probabilities), np.quantile(values, probabilities))


def test_duplicate_edges_are_dropped():
    # 101 values: the deciles sit at positions 10, 20, ..., 90, which hold 0 up to position 59 and 1 after.
    values = np.array([0.0] * 60 + [1.0] * 41)
    assert decile_edges(values, 10).tolist() == [0.0, 1.0]


def _config(**kwargs):
    from monitoring.metrics.drift import DriftConfig

    return DriftConfig(**kwargs)


samples_with_ties = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=60)


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
@settings(max_examples=100, deadline=None)
@given(samples_with_ties, samples_with_ties)
def test_ks_statistic_equals_scipys_on_random_samples_with_ties(a, b):
    result = ks_via_merge(np.array(a), np.array(b))
    expected = stats.ks_2samp(a, b)
    assert result["statistic"] == pytest.approx(float(expected.statistic), abs=1e-12)
    assert result["p_value"] == pytest.approx(float(expected.pvalue), rel=1e-9, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200))
def test_psi_of_a_sample_against_itself_is_zero(values):
    result = column_drift(np.array(values), np.array(values))
    assert result["statistics"]["psi"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert result["statistics"]["ks"]["statistic"] == 0.0
    assert result["statistics"]["wasserstein"]["distance"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("decimals", [None, 1])
def test_sorted_moments_equal_numpys_std_and_unique(decimals):
    values = np.random.default_rng(9).lognormal(3, 1, 100_000)
    if decimals is not None:
        values = np.round(values, decimals)
    ordered = np.sort(values)
    std, distinct = sorted_moments(ordered)
    assert std == pytest.approx(np.std(values), rel=1e-12)
    assert distinct == len(np.unique(values))
