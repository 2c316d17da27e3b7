"""Fairness metrics: Attest's one-bincount pass against fairlearn's MetricFrame on the same rows.

A binary and a 4-valued sensitive column and their intersection (3 groupings) x selection rate, TPR, FPR,
FNR, precision and accuracy per group, plus demographic parity and equalized odds differences and ratios.
Each method runs in a fresh process on the same arrays (an .npz file); numbers are compared value by value.

    .venv/bin/python benchmarks/compare_fairness.py             # 1,000,000 rows
    .venv/bin/python benchmarks/compare_fairness.py --quick     # 100,000 rows, one run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common as common
import numpy as np

SCRIPT = Path(__file__).resolve()
GROUPINGS = (("sex",), ("race",), ("sex", "race"))
METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision",
    "accuracy",
)


def make_data(rows: int, seed: int = 11) -> dict[str, np.ndarray]:
    """Labels with group-dependent base and selection rates, so the disparities are not zero."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["female", "male"]), rows, p=[0.48, 0.52])
    race = rng.choice(np.array(["a", "b", "c", "d"]), rows, p=[0.5, 0.25, 0.15, 0.1])
    base = 0.25 + 0.1 * (sex == "male") + 0.05 * (race == "b")
    y_true = (rng.random(rows) < base).astype(np.int64)
    score = 0.45 * y_true + rng.random(rows) * 0.7 + 0.04 * (race == "c")
    return {"y_true": y_true, "y_pred": (score > 0.5).astype(np.int64), "sex": sex, "race": race}


def load(path: str) -> tuple[np.ndarray, np.ndarray, Any]:
    import pandas as pd

    data = np.load(path)
    return data["y_true"], data["y_pred"], pd.DataFrame({"sex": data["sex"], "race": data["race"]})


def worker_attest(path: str, repeats: int) -> dict:
    sys.path.insert(0, str(common.REPO))
    from monitoring.metrics.fairness import fairness_report

    y_true, y_pred, sensitive = load(path)
    measured = common.measure(lambda: fairness_report(y_true, y_pred, sensitive, min_group_size=0), repeats)
    values: dict[str, float] = {}
    for grouping in measured["output"]["groupings"]:
        key = "&".join(grouping["features"])
        for group in grouping["groups"]:
            label = "&".join(group["group"][f] for f in grouping["features"])
            for metric in METRICS:
                values[f"{key}|{label}|{metric}"] = group["metrics"][metric]
        aggregates = grouping["aggregates"]
        for name in ("demographic_parity_difference", "demographic_parity_ratio"):
            values[f"{key}|{name}"] = aggregates[name]["value"]
        for name in ("equalized_odds_difference", "equalized_odds_ratio"):
            values[f"{key}|{name}"] = aggregates[name]["value"]
    return measured | {"output": values}


def worker_fairlearn(path: str, repeats: int) -> dict:
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    functions = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "precision": precision_score,
        "accuracy": accuracy_score,
    }
    y_true, y_pred, sensitive = load(path)

    def work() -> dict[str, float]:
        values: dict[str, float] = {}
        for grouping in GROUPINGS:
            key = "&".join(grouping)
            frame = MetricFrame(
                metrics=functions, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive[list(grouping)]
            )
            for index, row in frame.by_group.iterrows():
                label = "&".join(index) if isinstance(index, tuple) else index
                for metric in METRICS:
                    values[f"{key}|{label}|{metric}"] = float(row[metric])
            difference, ratio = frame.difference(), frame.ratio()
            values[f"{key}|demographic_parity_difference"] = float(difference["selection_rate"])
            values[f"{key}|demographic_parity_ratio"] = float(ratio["selection_rate"])
            values[f"{key}|equalized_odds_difference"] = float(
                max(difference["true_positive_rate"], difference["false_positive_rate"])
            )
            values[f"{key}|equalized_odds_ratio"] = float(
                min(ratio["true_positive_rate"], ratio["false_positive_rate"])
            )
        return values

    return common.measure(work, repeats)


WORKERS = {"attest": worker_attest, "fairlearn": worker_fairlearn}


def run_size(rows: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="attest-fairness-") as folder:
        path = str(Path(folder) / "data.npz")
        data = make_data(rows)
        np.savez(path, **data)
        input_bytes = sum(array.nbytes for array in data.values())
        results = {}
        for method in ("attest", "fairlearn"):
            runs = repeats if method == "attest" or rows < 500_000 else 1  # fairlearn takes minutes at 1M
            print(f"  {rows:,} rows: {method} ({runs} run{'s' * (runs > 1)}) ...", flush=True)
            results[method] = common.run_worker(
                sys.executable, SCRIPT, ["--worker", method, "--data", path, "--repeats", str(runs)]
            )
    attest, fairlearn = results["attest"], results["fairlearn"]
    keys = set(attest["output"]) | set(fairlearn["output"])
    missing = [k for k in keys if k not in attest["output"] or k not in fairlearn["output"]]
    differences = [abs(attest["output"][k] - fairlearn["output"][k]) for k in keys if k not in missing]
    identical = sum(attest["output"][k] == fairlearn["output"][k] for k in keys if k not in missing)
    print(
        f"\n{rows:,} rows, groupings sex (2), race (4), sex x race (8); input {common.megabytes(input_bytes):.0f} MB"
    )
    table = []
    for method, label in (("attest", "Attest fairness_report"), ("fairlearn", "fairlearn MetricFrame")):
        result = results[method]
        agreement = max(differences) if method == "attest" else 0.0
        table.append(
            [
                label,
                result["seconds"],
                result["seconds"] / attest["seconds"],
                common.megabytes(result["peak_growth_bytes"]),
                agreement,
            ]
        )
    common.print_table(
        ["method", "time (s)", "x Attest", "peak mem growth (MB)", "max |diff| vs fairlearn"], table
    )
    print(
        f"  values compared: {len(keys) - len(missing)}, bit-identical: {identical}, missing on one side: {len(missing)}"
    )
    speedup = fairlearn["seconds"] / attest["seconds"]
    print(f"  target fairlearn / Attest >= 100: {speedup:.0f} {'PASS' if speedup >= 100 else 'MISS'}")
    same = not missing and max(differences) == 0.0
    print(f"  target identical numbers: {'PASS' if same else 'MISS'}")
    print(f"  {common.machine_note()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="1000000", help="comma-separated row counts")
    parser.add_argument("--repeats", type=int, default=3, help="runs per method (median); fairlearn at 1M: 1")
    parser.add_argument("--quick", action="store_true", help="100,000 rows, one run per method")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        common.emit(WORKERS[args.worker](args.data, args.repeats))
        return
    if args.quick:
        args.rows, args.repeats = "100000", 1
    print("Each method runs in a fresh process on the same arrays; times are medians of the runs.")
    for rows in common.parse_rows(args.rows):
        run_size(rows, args.repeats)


if __name__ == "__main__":
    main()
