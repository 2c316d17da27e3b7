"""Drift per feature: Attest against per-column scipy, Evidently's DataDriftPreset and a read-once floor.

Synthetic reference and current frames (80 % numeric of eight shapes, 20 % categorical of 2-40 categories,
some columns shifted) are written to Parquet once; each method then runs in a fresh process that reads them,
so timings and peak-memory growth are not polluted by the others. Evidently 0.7.23 does not import with
pandas 3, so it runs in its own virtualenv (var/bench-evidently, created on first use with pandas < 3).

    .venv/bin/python benchmarks/compare_drift.py                 # 100k and 1M rows x 20 columns
    .venv/bin/python benchmarks/compare_drift.py --quick         # 100k rows, one run per method
    .venv/bin/python benchmarks/compare_drift.py --rows 200000 --skip-evidently
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common as common

SCRIPT = Path(__file__).resolve()
EVIDENTLY_VENV = common.REPO / "var" / "bench-evidently"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3", "numpy", "scipy", "pyarrow"]
STATISTICS = (
    "ks_statistic",
    "wasserstein",
    "wasserstein_normed",
    "jensen_shannon",
    "psi",
    "chi2_statistic",
    "chi2_p_value",
)


# ---------------------------------------------------------------------------------------------- workers


def load(data_dir: str) -> tuple[Any, Any]:
    import pandas as pd

    return pd.read_parquet(Path(data_dir) / "reference.parquet"), pd.read_parquet(
        Path(data_dir) / "current.parquet"
    )


def numeric_columns(frame: Any) -> list[str]:
    return [c for c in frame.columns if frame[c].dtype.kind == "f"]


def worker_floor(data_dir: str, repeats: int) -> dict:
    reference, current = load(data_dir)
    arrays = [frame[c].to_numpy() for frame in (reference, current) for c in numeric_columns(frame)]

    def work() -> float:
        return float(sum(array.sum() for array in arrays))

    return common.measure(work, repeats) | {"output": None}


def worker_attest(data_dir: str, repeats: int) -> dict:
    sys.path.insert(0, str(common.REPO))
    import numpy as np

    from monitoring.metrics._kernels import merge_sorted
    from monitoring.metrics.drift import build_reference_profile, compare_with_profile

    merge_sorted(np.arange(3.0), np.arange(2.0))  # load the cached Numba kernel before timing
    reference, current = load(data_dir)
    total = common.measure(lambda: compare_with_profile(build_reference_profile(reference), current), repeats)
    profile = build_reference_profile(reference)
    compare = common.measure(lambda: compare_with_profile(profile, current), repeats)
    result = total["output"]
    stats = {column["column"]: attest_statistics(column) for column in result["columns"]}
    methods = sorted(
        {c["statistics"]["ks"]["p_value_method"] for c in result["columns"] if "ks" in c["statistics"]}
    )
    return total | {
        "output": {
            "stats": stats,
            "drifted": result["summary"]["number_of_drifted_columns"],
            "ks_methods": methods,
        },
        "compare_only": {k: compare[k] for k in ("seconds", "peak_growth_bytes")},
    }


def attest_statistics(column: dict) -> dict:
    statistics = column["statistics"]
    out = {"score": column["test"]["score"], "psi": statistics["psi"]["value"]}
    out["jensen_shannon"] = statistics["jensen_shannon"]["distance"]
    if "ks" in statistics:
        out |= {
            "ks_statistic": statistics["ks"]["statistic"],
            "ks_p_value": statistics["ks"]["p_value"],
            "ks_p_value_method": statistics["ks"]["p_value_method"],
            "wasserstein": statistics["wasserstein"]["distance"],
            "wasserstein_normed": statistics["wasserstein"]["normalised"],
        }
    else:
        out |= {
            "chi2_statistic": statistics["chi_square"]["statistic"],
            "chi2_p_value": statistics["chi_square"]["p_value"],
        }
    return out


def worker_scipy(data_dir: str, repeats: int) -> dict:
    reference, current = load(data_dir)

    def work() -> dict:
        return {c: scipy_column(reference[c], current[c]) for c in reference.columns}

    measured = common.measure(work, repeats)
    return measured | {"output": {"stats": measured["output"]}}


def scipy_column(reference: Any, current: Any) -> dict:
    """The straightforward way: one scipy call per statistic, NumPy histograms for the binned ones."""
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    ref, cur = reference.dropna(), current.dropna()
    if ref.dtype.kind == "f":
        ref, cur = ref.to_numpy(), cur.to_numpy()
        edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))
        bins = np.concatenate(([-np.inf], edges, [np.inf]))
        ref_counts, cur_counts = np.histogram(ref, bins)[0], np.histogram(cur, bins)[0]
        ks = stats.ks_2samp(ref, cur)
        distance = stats.wasserstein_distance(ref, cur)
        out = {
            "ks_statistic": float(ks.statistic),
            "ks_p_value": float(ks.pvalue),
            "wasserstein": distance,
            "wasserstein_normed": distance / max(float(np.std(ref)), 0.001),
        }
        out["score"] = out["wasserstein_normed"]
    else:
        categories = sorted(set(ref.unique()) | set(cur.unique()))
        ref_counts = ref.value_counts().reindex(categories, fill_value=0).to_numpy()
        cur_counts = cur.value_counts().reindex(categories, fill_value=0).to_numpy()
        chi = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]))
        out = {"chi2_statistic": float(chi.statistic), "chi2_p_value": float(chi.pvalue)}
    ref_share = np.maximum(ref_counts / ref_counts.sum(), 1e-4)
    cur_share = np.maximum(cur_counts / cur_counts.sum(), 1e-4)
    out["psi"] = float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    out["jensen_shannon"] = float(jensenshannon(ref_counts, cur_counts))
    out.setdefault("score", out["jensen_shannon"])
    return out


def worker_evidently(data_dir: str, repeats: int) -> dict:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference, current = load(data_dir)
    Report([DataDriftPreset()]).run(
        current_data=current.head(500), reference_data=reference.head(500)
    )  # warm up

    def work() -> Any:
        return Report([DataDriftPreset()]).run(current_data=current, reference_data=reference).dict()

    measured = common.measure(work, repeats)
    scores, drifted = {}, 0
    for metric in measured["output"]["metrics"]:
        if metric["config"].get("type", "").endswith("ValueDrift"):
            scores[metric["config"]["column"]] = {"score": float(metric["value"])}
        elif metric["config"].get("type", "").endswith("DriftedColumnsCount"):
            drifted = int(metric["value"]["count"])
    return measured | {"output": {"stats": scores, "drifted": drifted}}


WORKERS = {
    "floor": worker_floor,
    "attest": worker_attest,
    "scipy": worker_scipy,
    "evidently": worker_evidently,
}


# ---------------------------------------------------------------------------------------------- driver


def evidently_python() -> str:
    """The interpreter of the Evidently virtualenv, created (with pandas < 3) when it is missing or broken."""
    python = EVIDENTLY_VENV / "bin" / "python"
    check = [str(python), "-c", "import evidently, pandas; assert pandas.__version__ < '3'"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return str(python)
    print(f"creating {EVIDENTLY_VENV} with {' '.join(EVIDENTLY_REQUIREMENTS)} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(EVIDENTLY_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *EVIDENTLY_REQUIREMENTS], check=True)
    return str(python)


def max_differences(stats: dict, reference: dict, keys: tuple[str, ...]) -> dict[str, float]:
    """Largest absolute difference per statistic over the columns both have (KS p-values: see below)."""
    out: dict[str, float] = {}
    for column, values in stats.items():
        for key in keys:
            if key in values and key in reference.get(column, {}):
                out[key] = max(out.get(key, 0.0), abs(values[key] - reference[column][key]))
    return out


def run_size(rows: int, args: argparse.Namespace, evidently: str | None) -> None:
    reference, current = common.make_frames(rows, args.columns)
    input_bytes = int(reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum())
    with tempfile.TemporaryDirectory(prefix="attest-drift-") as data_dir:
        reference.to_parquet(Path(data_dir) / "reference.parquet")
        current.to_parquet(Path(data_dir) / "current.parquet")
        del reference, current
        results = {}
        for method in ("floor", "attest", "scipy", "evidently"):
            if method == "evidently" and evidently is None:
                continue
            repeats = args.repeats if method != "evidently" or rows < 500_000 else 1
            python = evidently if method == "evidently" else sys.executable
            print(f"  {rows:,} rows: {method} ({repeats} run{'s' * (repeats > 1)}) ...", flush=True)
            results[method] = common.run_worker(
                python, SCRIPT, ["--worker", method, "--data", data_dir, "--repeats", str(repeats)]
            )
    report(rows, args.columns, input_bytes, results)
    print(f"  {common.machine_note()}")


def report(rows: int, columns: int, input_bytes: int, results: dict) -> None:
    attest = results["attest"]
    scipy_stats = results["scipy"]["output"]["stats"]
    base = attest["seconds"]
    attest_diffs = max_differences(attest["output"]["stats"], scipy_stats, (*STATISTICS, "score"))
    table = []
    labels = {
        "floor": "read-once floor (NumPy sum of the numeric arrays)",
        "attest": "Attest: build profile + compare",
        "scipy": "scipy, one call per statistic per column",
        "evidently": "Evidently 0.7.23 DataDriftPreset (own venv, pandas 2)",
    }
    for method, result in results.items():
        if method == "evidently":
            agreement = max(
                max_differences(result["output"]["stats"], scipy_stats, ("score",)).values(), default=None
            )
        elif method == "attest":
            agreement = max(attest_diffs.values())
        else:
            agreement = 0.0 if method == "scipy" else None
        row = [labels[method], result["seconds"], result["seconds"] / base]
        table.append([*row, common.megabytes(result["peak_growth_bytes"]), agreement])
        if method == "attest":
            compare = result["compare_only"]
            table.append(
                [
                    "Attest: compare only (profile prebuilt)",
                    compare["seconds"],
                    compare["seconds"] / base,
                    common.megabytes(compare["peak_growth_bytes"]),
                    None,
                ]
            )
    print(
        f"\n{rows:,} rows x {columns} columns (reference and current), input {common.megabytes(input_bytes):.0f} MB"
    )
    common.print_table(
        ["method", "time (s)", "x Attest", "peak mem growth (MB)", "max |diff| vs scipy"], table
    )
    print(
        "  Attest vs scipy, max |diff| per statistic: "
        + ", ".join(f"{k} {v:.1e}" for k, v in attest_diffs.items())
    )
    print(ks_p_value_agreement(attest["output"]["stats"], scipy_stats))
    if "evidently" in results:
        print(
            f"  drifted columns: Attest {attest['output']['drifted']}, "
            f"Evidently {results['evidently']['output']['drifted']}"
        )
    targets(results, input_bytes)


def ks_p_value_agreement(stats: dict, reference: dict) -> str:
    """KS p-values: equal to scipy's except where the Kolmogorov limit was used (far from the threshold)."""
    exact, limit = [], []
    for column, values in stats.items():
        if "ks_p_value" not in values:
            continue
        expected = reference[column]["ks_p_value"]
        if values["ks_p_value_method"] == "asymp-limit":
            limit.append((abs(values["ks_p_value"] - expected), abs(values["ks_p_value"] / expected - 1)))
        else:
            exact.append(abs(values["ks_p_value"] - expected))
    text = (
        f"  KS p-values: scipy's own method on {len(exact)} columns, max |diff| {max(exact, default=0.0):.1e}"
    )
    if limit:
        text += (
            f"; Kolmogorov limit on {len(limit)} columns (p < 0.025, far from 0.05): "
            f"max |diff| {max(a for a, _ in limit):.1e}, max relative diff {max(r for _, r in limit):.1e}"
        )
    return text


def targets(results: dict, input_bytes: int) -> None:
    attest = results["attest"]
    checks = [
        ("scipy per column / Attest >= 10", results["scipy"]["seconds"] / attest["seconds"], 10, True),
        ("Attest / read-once floor <= 20", attest["seconds"] / results["floor"]["seconds"], 20, False),
        (
            "Attest compare only / read-once floor <= 20",
            attest["compare_only"]["seconds"] / results["floor"]["seconds"],
            20,
            False,
        ),
        ("Attest peak memory growth / input size <= 1", attest["peak_growth_bytes"] / input_bytes, 1, False),
    ]
    if "evidently" in results:
        checks.insert(
            0, ("Evidently / Attest >= 50", results["evidently"]["seconds"] / attest["seconds"], 50, True)
        )
    for name, value, bound, at_least in checks:
        passed = value >= bound if at_least else value <= bound
        print(f"  target {name}: {value:.2f} {'PASS' if passed else 'MISS'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated row counts")
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="runs per method (median); Evidently at 1M: 1")
    parser.add_argument("--quick", action="store_true", help="100,000 rows, one run per method")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        common.emit(WORKERS[args.worker](args.data, args.repeats))
        return
    if args.quick:
        args.rows, args.repeats = "100000", 1
    evidently = None if args.skip_evidently else evidently_python()
    print("Each method runs in a fresh process on the same Parquet files; times are medians of the runs.")
    if evidently:
        print(f"Evidently runs in {EVIDENTLY_VENV} (evidently 0.7.23 fails to import with pandas 3).")
    for rows in common.parse_rows(args.rows):
        run_size(rows, args, evidently)


if __name__ == "__main__":
    main()
