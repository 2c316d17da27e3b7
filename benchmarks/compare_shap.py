"""SHAP: Attest's explain_model against calling shap directly on the same model and rows.

Three models (LightGBM with 31 leaves, a scikit-learn GradientBoosting of depth 3, a logistic regression)
are fitted once; then "shap directly" (``TreeExplainer(model).shap_values(X)`` / ``LinearExplainer(model,
background).shap_values(X)``) and ``explain_model(model, X, max_rows=None, time_budget_s=None)`` run
alternately in the same process, so machine noise hits both alike. The shared machine is noisy (+-25 %),
so the overhead is computed from the fastest run of each (the least disturbed), medians shown beside.
Overhead = Attest / direct - 1 (target <= 10 %); agreement = max |difference| of mean |SHAP| per feature.

    .venv/bin/python benchmarks/compare_shap.py
    .venv/bin/python benchmarks/compare_shap.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import _common as common
import numpy as np

sys.path.insert(0, str(common.REPO))


def make_data(rows: int, features: int = 20, seed: int = 3) -> tuple[Any, np.ndarray]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"x{i:02d}" for i in range(features)])
    logit = X.iloc[:, :5].to_numpy() @ np.array([1.2, -0.8, 0.6, 0.4, -0.3]) + 0.5 * X["x05"] * X["x06"]
    return X, (logit + rng.normal(size=rows) > 0).astype(int)


def models(quick: bool) -> list[tuple[str, Any, int]]:
    """(label, unfitted model, rows to explain) sized so shap itself takes about a second or more."""
    import lightgbm
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    scale = 4 if quick else 1
    return [
        (
            "LightGBM, 100 trees x 31 leaves",
            lightgbm.LGBMClassifier(n_estimators=100, verbose=-1),
            4000 // scale,
        ),
        ("sklearn GBM, 100 trees depth 3", GradientBoostingClassifier(n_estimators=100), 20000 // scale),
        ("logistic regression", LogisticRegression(max_iter=500), 200000 // scale),
    ]


def direct(model: Any, X: Any) -> np.ndarray:
    """What a user would write to get SHAP values for these rows."""
    import shap
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(model, LogisticRegression):
            # the background explain_model draws: 100 rows sampled with seed 0 (all rows when fewer)
            rows = np.arange(len(X))
            if len(X) > 100:
                rows = np.sort(np.random.default_rng(0).choice(len(X), size=100, replace=False))
            return np.asarray(shap.LinearExplainer(model, X.iloc[rows]).shap_values(X))
        return np.asarray(shap.TreeExplainer(model).shap_values(X))


def attest(model: Any, X: Any) -> dict:
    from monitoring.metrics.explain import explain_model

    return explain_model(model, X, max_rows=None, time_budget_s=None, seed=0)


def alternate(
    first: Callable[[], Any], second: Callable[[], Any], repeats: int
) -> tuple[list, list, Any, Any]:
    times_first, times_second = [], []
    out_first = out_second = None
    for _ in range(repeats):
        start = time.perf_counter()
        out_first = first()
        times_first.append(time.perf_counter() - start)
        start = time.perf_counter()
        out_second = second()
        times_second.append(time.perf_counter() - start)
    return times_first, times_second, out_first, out_second


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=None, help="rows to explain for every model")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a quarter of the rows, 3 runs")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    import shap

    print(f"shap {shap.__version__}; {repeats} runs of each, alternating in one process")
    table = []
    for label, model, rows in models(args.quick):
        rows = args.rows or rows
        X, y = make_data(max(rows, 2000))
        model.fit(X.iloc[:20000], y[:20000])
        X = X.iloc[:rows]
        direct(model, X.iloc[:50])  # import and JIT warm-up outside the timing
        attest(model, X.iloc[:50])
        direct_times, attest_times, values, result = alternate(
            lambda model=model, X=X: direct(model, X), lambda model=model, X=X: attest(model, X), repeats
        )
        importance = {item["feature"]: item["mean_abs_shap"] for item in result["global_importance"]}
        if values.ndim == 3:
            values = values[:, :, 1]
        expected = np.abs(values.astype(np.float64)).mean(axis=0)
        agreement = max(abs(importance[c] - expected[i]) for i, c in enumerate(X.columns))
        direct_s, attest_s = min(direct_times), min(attest_times)
        overhead = f"{(attest_s / direct_s - 1) * 100:+.1f} %"
        medians = f"{statistics.median(direct_times):.3g} / {statistics.median(attest_times):.3g}"
        table.append([label, rows, direct_s, attest_s, overhead, medians, agreement])
    headers = [
        "model",
        "rows",
        "shap direct, min (s)",
        "Attest, min (s)",
        "overhead",
        "medians direct / Attest",
    ]
    common.print_table([*headers, "max |diff| mean|SHAP|"], table)
    worst = max(float(row[4].split()[0]) for row in table)
    print(f"  target overhead <= 10 %: worst {worst:+.1f} % {'PASS' if worst <= 10 else 'MISS'}")
    print(f"  {common.machine_note()}")


if __name__ == "__main__":
    main()
