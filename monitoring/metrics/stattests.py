"""Drift statistics on prepared inputs (sorted samples, bin or category counts).

Each function matches a named reference implementation, stated in its docstring, so the numbers can be
checked against it: ``scipy.stats.ks_2samp``, ``scipy.stats.chi2_contingency``,
``scipy.spatial.distance.jensenshannon``, ``scipy.stats.wasserstein_distance``. The returned dicts are
JSON-safe (no NaN or inf).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import special, stats

from ._values import finite_or_none

DEFAULT_PSI_FLOOR = 1e-4
DEFAULT_STD_FLOOR = 0.001

# scipy's ks_2samp(method="auto") computes the exact distribution while both samples have at most this many
# values (MAX_AUTO_N in scipy.stats._stats_py) and the asymptotic one above it.
SCIPY_KS_EXACT_MAX_N = 10_000
# Above this effective size scipy's finite-n ``kstwo.sf`` can take up to a second in its 2*smirnov branch
# (0.6 s at n = 500,000); below it, it costs a few ms.
KS_FINITE_N_CHEAP = 10_000
# kstwo.sf uses the slow 2*smirnov branch only for 2.2 <= n*D^2 < 370 (scipy.stats._ksstats._kolmogn).
KS_SLOW_BRANCH = (2.2, 370.0)


def bin_counts(ordered: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of a sorted sample in the bins ``(-inf, e1), [e1, e2), ..., [ek, inf)``.

    A value equal to an edge is counted in the bin above it (``searchsorted(side="left")`` counts the values
    strictly below each edge); ``len(edges) + 1`` counts come back.
    """
    below = np.searchsorted(ordered, edges, side="left")
    return np.diff(np.concatenate(([0], below, [ordered.shape[0]]))).astype(np.int64)


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts divided by their total (all zeros when the total is zero)."""
    total = counts.sum()
    if total == 0:
        return np.zeros(counts.shape, dtype=np.float64)
    return counts / total


def psi(
    reference_counts: np.ndarray, current_counts: np.ndarray, *, floor: float = DEFAULT_PSI_FLOOR
) -> dict:
    """Population stability index ``sum((c - r) * ln(c / r))`` over bins or categories.

    Shares below ``floor`` are raised to it (without renormalising) so an empty bin gives a large but finite
    term instead of an infinite one.
    """
    ref = np.maximum(shares(reference_counts), floor)
    cur = np.maximum(shares(current_counts), floor)
    value = float(np.sum((cur - ref) * np.log(cur / ref)))
    return {"value": value, "share_floor": floor}


def psi_band(value: float, *, moderate: float, significant: float) -> str:
    """The PSI reading: ``stable`` below ``moderate``, ``significant`` from ``significant``, ``moderate`` between.

    The bands are not defaulted here: they are declared once, in ``DriftConfig`` (``drift_config``).
    """
    if value >= significant:
        return "significant"
    if value >= moderate:
        return "moderate"
    return "stable"


def jensen_shannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen-Shannon distance with the natural logarithm, as ``scipy.spatial.distance.jensenshannon(p, q)``.

    The square root of the divergence, so it lies in ``[0, sqrt(ln 2)]``; shares are not floored.
    """
    p = reference_counts / reference_counts.sum()
    q = current_counts / current_counts.sum()
    m = (p + q) / 2.0
    divergence = np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))
    # Rounding can leave a divergence of -1e-17 for identical inputs; the distance is 0 there.
    return math.sqrt(max(float(divergence), 0.0) / 2.0)


def chi_square(reference_counts: np.ndarray, current_counts: np.ndarray) -> dict:
    """Two-sample chi-square test of homogeneity on the 2 x k table of reference and current counts.

    ``scipy.stats.chi2_contingency`` with its defaults (Yates' correction when the table has one degree of
    freedom). Categories absent from both samples are dropped first (they would make an expected count zero).
    Cramér's V is computed from the uncorrected statistic, as ``scipy.stats.contingency.association`` does.
    """
    table = np.vstack((reference_counts, current_counts)).astype(np.int64)
    table = table[:, table.sum(axis=0) > 0]
    result = stats.chi2_contingency(table)
    dof = int(result.dof)
    uncorrected = float(result.statistic)
    if dof == 1:
        uncorrected = float(stats.chi2_contingency(table, correction=False).statistic)
    total = int(table.sum())
    cramers_v = math.sqrt(uncorrected / total) if dof > 0 else 0.0
    return {
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "dof": dof,
        "yates_correction": dof == 1,
        "effect_size": cramers_v,
        "effect_size_name": "cramers_v",
    }


def proportion_z_test(
    reference_positive: int, reference_n: int, current_positive: int, current_n: int
) -> dict:
    """Two-proportion z-test with the pooled proportion; two-sided p-value ``2 * norm.sf(|z|)``.

    When both samples hold one and the same value the pooled variance is zero and the test cannot reject:
    ``z = 0`` and ``p = 1`` (Evidently's handling), with a note.
    """
    p_ref = reference_positive / reference_n
    p_cur = current_positive / current_n
    pooled = (reference_positive + current_positive) / (reference_n + current_n)
    variance = pooled * (1.0 - pooled) * (1.0 / reference_n + 1.0 / current_n)
    note = None
    if variance <= 0.0:
        z, p_value = 0.0, 1.0
        note = "both samples hold one and the same value, so the proportions cannot differ"
    else:
        z = (p_cur - p_ref) / math.sqrt(variance)
        p_value = float(2.0 * stats.norm.sf(abs(z)))
    return {
        "statistic": float(z),
        "p_value": p_value,
        "reference_proportion": p_ref,
        "current_proportion": p_cur,
        "effect_size": p_cur - p_ref,
        "effect_size_name": "difference_in_proportions",
        "note": note,
    }


def wasserstein(area: float, reference_std: float | None, *, std_floor: float = DEFAULT_STD_FLOOR) -> dict:
    """Wasserstein-1 distance and the same divided by ``max(reference std (ddof 0), std_floor)``.

    The normalised form is Evidently's ``wasserstein`` drift score; the floor keeps a constant reference
    column from dividing by zero (then any change gives a large normalised distance). Both are None if the
    distance overflows (values near the float64 limit).
    """
    std = reference_std or 0.0
    scale = max(std, std_floor)
    return {
        "distance": finite_or_none(area),
        "normalised": finite_or_none(area / scale),
        "reference_std": float(std),
        "std_floor": std_floor,
        "std_floor_applied": std < std_floor,
    }


def ks_test(
    d_plus: float,
    d_minus: float,
    reference: np.ndarray,
    current: np.ndarray,
    *,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Two-sided two-sample KS test with ``scipy.stats.ks_2samp(method="auto")``'s statistic and p-value.

    ``d_plus``/``d_minus`` come from the sorted merge (:func:`._kernels.merge_sorted`). The p-value method is
    chosen as scipy chooses it and recorded:

    - ``exact``: both samples have at most 10,000 values; scipy's own exact routine is called (it may fall
      back to ``asymp`` itself, which is then recorded), so p-value and statistic are scipy's.
    - ``asymp``: scipy's large-sample formula ``kstwo.sf(D, round(n1*n2/(n1+n2)))``, the same number.
    - ``asymp-limit``: the Kolmogorov limiting distribution ``kstwobign.sf(D * sqrt(n_e))``. Used only where
      scipy's ``kstwo.sf`` would take up to a second (effective n > 10,000 and 2.2 <= n_e*D^2 < 370, which
      means p < 0.025) and the p-value is not within a factor 2 of ``alpha``, so it cannot change the
      decision. Its absolute difference from scipy's p-value is below 2e-4 (below 1e-9 once p < 1e-7); the
      relative difference is about 1 % near p = 0.01 and grows in the far tail (p < 1e-40).
    """
    n1 = reference.shape[0]
    n2 = current.shape[0]
    d = d_minus if d_minus > d_plus else d_plus
    if max(n1, n2) <= SCIPY_KS_EXACT_MAX_N:
        return _ks_small(d, reference, current)
    m, n = sorted([float(n1), float(n2)], reverse=True)
    effective_n = float(np.round(m * n / (m + n)))
    method, p_value = _ks_large_p_value(d, effective_n, alpha)
    return _ks_result(d, p_value, method, effective_n)


def _ks_small(d: float, reference: np.ndarray, current: np.ndarray) -> dict[str, Any]:
    n1 = reference.shape[0]
    n2 = current.shape[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = stats.ks_2samp(reference, current, method="auto")
    fell_back = any("Switching to method=asymp" in str(w.message) for w in caught)
    if fell_back:
        m, n = sorted([float(n1), float(n2)], reverse=True)
        return _ks_result(d, float(result.pvalue), "asymp", float(np.round(m * n / (m + n))))
    # scipy reports the statistic on its exact lattice h / lcm(n1, n2); report the same float.
    lcm = (n1 // math.gcd(n1, n2)) * n2
    lattice_d = round(d * lcm) / lcm
    return _ks_result(lattice_d, float(result.pvalue), "exact", None)


def _ks_large_p_value(d: float, effective_n: float, alpha: float) -> tuple[str, float]:
    t = effective_n * d * d
    slow = effective_n > KS_FINITE_N_CHEAP and KS_SLOW_BRANCH[0] <= t < KS_SLOW_BRANCH[1]
    if slow:
        limit = float(stats.kstwobign.sf(d * math.sqrt(effective_n)))
        if not alpha / 2.0 <= limit <= alpha * 2.0:
            return "asymp-limit", limit
    return "asymp", float(np.clip(stats.kstwo.sf(d, effective_n), 0.0, 1.0))


_KS_METHOD_NOTES = {
    "exact": "scipy.stats.ks_2samp exact distribution (both samples <= 10,000 values)",
    "asymp": "scipy.stats.ks_2samp asymptotic method: kstwo.sf(D, n_e), n_e = round(n1*n2/(n1+n2))",
    "asymp-limit": (
        "Kolmogorov limiting distribution kstwobign.sf(D*sqrt(n_e)); scipy's kstwo.sf skipped for speed "
        "because p < 0.025 and far from the threshold (absolute difference from scipy's p-value < 2e-4)"
    ),
}


def _ks_result(d: float, p_value: float, method: str, effective_n: float | None) -> dict[str, Any]:
    return {
        "statistic": float(d),
        "p_value": float(p_value),
        "p_value_method": method,
        "p_value_method_note": _KS_METHOD_NOTES[method],
        "effective_n": None if effective_n is None else int(effective_n),
        "effect_size": float(d),
        "effect_size_name": "ks_statistic (largest gap between the two CDFs, 0..1)",
    }
