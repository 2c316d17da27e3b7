"""The one hot loop of the drift path: a merge of two sorted samples.

One pass over both sorted samples gives the two-sample KS statistic (as ``scipy.stats.ks_2samp`` computes it)
and the Wasserstein-1 distance (as ``scipy.stats.wasserstein_distance`` computes it). The loop is compiled with
Numba (``nogil`` so columns can run on a thread pool); if Numba cannot be imported the same numbers come from
a NumPy version that uses more memory and time.
"""

from __future__ import annotations

import numpy as np

try:  # numba is a dependency through shap, but a broken LLVM install must not take drift down with it
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

NUMBA_AVAILABLE = numba is not None
NUMBA_VERSION = numba.__version__ if numba is not None else None


def _merge_loop(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, int]:
    """Walk both sorted samples once, one element per step.

    After each step the empirical CDFs are ``i / n1`` and ``j / n2`` (i, j = elements taken so far). They are
    only compared where the next pooled value is strictly greater (the end of a run of ties), so ties are
    exact; the difference is written ``i / n1 - j / n2`` because that is scipy's expression, so the maximum is
    the same float. The Wasserstein-1 integral adds ``|F_a - F_b| * (next value - x)``, which is zero inside
    a run of ties, as scipy's ``_cdf_distance`` does. The step is written without data-dependent branches
    (selects instead of if/else): on continuous data the merge order is random, and a mispredicted branch
    per element made this loop 2.5x slower. Inputs must be finite (``inf`` marks an exhausted sample).
    """
    n1 = a.shape[0]
    n2 = b.shape[0]
    inf = np.inf
    i = 0
    j = 0
    d_plus = 0.0
    d_minus = 0.0
    area = 0.0
    distinct = 0
    va = a[0] if n1 > 0 else inf
    vb = b[0] if n2 > 0 else inf
    for _ in range(n1 + n2):
        take_a = va <= vb
        x = min(va, vb)
        i += take_a
        j += 1 - take_a
        va = a[i] if i < n1 else inf
        vb = b[j] if j < n2 else inf
        nxt = min(va, vb)
        diff = i / n1 - j / n2
        run_ends = x < nxt
        d_plus = max(d_plus, diff if run_ends else 0.0)
        d_minus = min(d_minus, diff if run_ends else 0.0)
        distinct += run_ends
        if nxt != inf:
            area += abs(diff) * (nxt - x)
    return d_plus, -d_minus, area, distinct


_merge_compiled = numba.njit(nogil=True, cache=True)(_merge_loop) if NUMBA_AVAILABLE else None


def merge_numpy(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, int]:
    """The same four numbers as :func:`merge_sorted` with NumPy only (about 2-3x slower, 3x the memory)."""
    n1 = a.shape[0]
    n2 = b.shape[0]
    all_values = np.concatenate((a, b))
    all_values.sort(kind="mergesort")
    diff = (
        np.searchsorted(a, all_values, side="right") / n1 - np.searchsorted(b, all_values, side="right") / n2
    )
    d_plus = max(float(diff.max()), 0.0)
    d_minus = max(-float(diff.min()), 0.0)
    gaps = np.diff(all_values)
    area = float(np.sum(np.abs(diff[:-1]) * gaps))
    distinct = int(np.count_nonzero(gaps)) + 1
    return d_plus, d_minus, area, distinct


def merge_sorted(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, int]:
    """Return ``(D+, D-, W1, distinct)`` for two non-empty, ascending, NaN-free samples of the same dtype.

    ``D+ = max(F_a - F_b)`` and ``D- = max(F_b - F_a)`` (both >= 0), so the two-sided KS statistic is the
    larger of the two; ``W1`` is the Wasserstein-1 distance between the two empirical distributions;
    ``distinct`` counts the distinct values of both samples together.
    Releases the GIL while it runs when Numba is available.
    """
    if _merge_compiled is None:  # pragma: no cover
        return merge_numpy(a, b)
    d_plus, d_minus, area, distinct = _merge_compiled(a, b)
    return float(d_plus), float(d_minus), float(area), int(distinct)
