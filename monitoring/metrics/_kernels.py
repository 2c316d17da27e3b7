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


def _row_major_summary(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum, sum of |v|, min and max of every column of a C-ordered (rows, columns) array in one pass."""
    rows, columns = values.shape
    total = np.zeros(columns)
    total_abs = np.zeros(columns)
    low = np.full(columns, np.inf)
    high = np.full(columns, -np.inf)
    for i in range(rows):
        for j in range(columns):
            v = values[i, j]
            total[j] += v
            total_abs[j] += abs(v)
            if v < low[j]:
                low[j] = v
            if v > high[j]:
                high[j] = v
    return total, total_abs, low, high


def _column_major_summary(by_column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The same for the transposed layout: one contiguous run per column."""
    columns, rows = by_column.shape
    total = np.zeros(columns)
    total_abs = np.zeros(columns)
    low = np.full(columns, np.inf)
    high = np.full(columns, -np.inf)
    for j in range(columns):
        s = 0.0
        s_abs = 0.0
        lo = np.inf
        hi = -np.inf
        for i in range(rows):
            v = by_column[j, i]
            s += v
            s_abs += abs(v)
            lo = v if v < lo else lo
            hi = v if v > hi else hi
        total[j], total_abs[j], low[j], high[j] = s, s_abs, lo, hi
    return total, total_abs, low, high


if NUMBA_AVAILABLE:
    _row_major_compiled = numba.njit(nogil=True, cache=True)(_row_major_summary)
    # fastmath lets LLVM vectorise the four reductions (the sums are then added in a different order,
    # which only matters in the last bits of a mean). It assumes no NaN: callers pass finite SHAP values
    # and turn any non-finite result into None.
    _column_major_compiled = numba.njit(nogil=True, cache=True, fastmath=True)(_column_major_summary)


def column_summaries(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, mean |v|, min and max per column of a 2-D float array with at least one row.

    One pass over the data in its own memory order: NumPy's axis-0 reductions run four strided passes and
    were the largest cost of summarising cheap (linear-model) SHAP explanations.
    """
    rows = values.shape[0]
    if not NUMBA_AVAILABLE:  # pragma: no cover
        return {
            "mean": values.mean(axis=0),
            "mean_abs": np.abs(values).mean(axis=0),
            "min": values.min(axis=0),
            "max": values.max(axis=0),
        }
    if values.flags.f_contiguous and not values.flags.c_contiguous:
        parts = _column_major_compiled(np.ascontiguousarray(values.T, dtype=np.float64))
    else:
        parts = _row_major_compiled(np.ascontiguousarray(values, dtype=np.float64))
    total, total_abs, low, high = parts
    return {"mean": total / rows, "mean_abs": total_abs / rows, "min": low, "max": high}


def _sorted_moments_loop(ordered: np.ndarray) -> tuple[float, int]:
    """Population standard deviation and distinct count of a sorted, finite, non-empty sample."""
    n = ordered.shape[0]
    total = 0.0
    distinct = 1
    for i in range(n):
        total += ordered[i]
        if i and ordered[i] != ordered[i - 1]:
            distinct += 1
    mean = total / n
    squares = 0.0
    for i in range(n):
        deviation = ordered[i] - mean
        squares += deviation * deviation
    return np.sqrt(squares / n), distinct


_sorted_moments_compiled = (
    numba.njit(nogil=True, cache=True)(_sorted_moments_loop) if NUMBA_AVAILABLE else None
)


def sorted_moments(ordered: np.ndarray) -> tuple[float, int]:
    """``(np.std(ordered), distinct values)`` of a sorted, finite, non-empty sample, in two passes without
    temporary arrays (np.std allocates two; on a loaded machine that made it a third of profiling time).

    The sums run in order instead of NumPy's pairwise order; the difference is a few units in the last place.
    """
    if _sorted_moments_compiled is None:  # pragma: no cover
        distinct = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1
        return float(np.std(ordered)), distinct
    std, distinct = _sorted_moments_compiled(ordered)
    return float(std), int(distinct)
