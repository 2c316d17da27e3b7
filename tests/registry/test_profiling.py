"""registry.profiling: the numbers agree with pandas; NaN counts as missing."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from registry.profiling import profile_table


def test_it_matches_pandas_on_numeric_and_categorical_columns():
    rng = np.random.default_rng(3)
    values = rng.normal(10, 2, 5000)
    values[::50] = np.nan
    frame = pd.DataFrame(
        {
            "x": values,
            "n": rng.integers(0, 7, 5000),
            "c": rng.choice(["a", "b", "c"], 5000, p=[0.5, 0.3, 0.2]),
        }
    )
    profile = profile_table(pa.Table.from_pandas(frame, preserve_index=False))
    columns = {column["name"]: column for column in profile["columns"]}
    x = columns["x"]
    assert x["missing"] == 100
    assert x["missing_share"] == pytest.approx(0.02)
    assert x["mean"] == pytest.approx(frame.x.mean(), rel=1e-12)
    assert x["std"] == pytest.approx(frame.x.std(), rel=1e-12)
    for key, q in (("p01", 0.01), ("p25", 0.25), ("p50", 0.5), ("p99", 0.99)):
        assert x["quantiles"][key] == pytest.approx(frame.x.quantile(q), rel=1e-12)
    assert x["distinct"] == frame.x.nunique()
    assert columns["n"]["distinct"] == frame.n.nunique()
    top = columns["c"]["top"]
    assert [item["value"] for item in top] == list(frame.c.value_counts().index)
    assert top[0]["count"] == frame.c.value_counts().iloc[0]


def test_it_reports_all_missing_and_empty_columns_without_failing():
    table = pa.table(
        {"x": pa.array([None, float("nan")], pa.float64()), "s": pa.array([None, None], pa.string())}
    )
    columns = {column["name"]: column for column in profile_table(table)["columns"]}
    assert columns["x"]["missing"] == 2
    assert columns["x"]["min"] is None
    assert columns["s"]["top"] == []
