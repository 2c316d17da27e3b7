"""Numeric sensitive columns are judged in bands: one group per distinct age is dozens of groups too small
to judge, and a parity ratio decided by whichever of them happens to be smallest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from fairlearn.metrics import demographic_parity_ratio

from monitoring.checks.fairness import banded
from monitoring.models import RunStatus
from tests.monitoring.conftest import execute, queue
from tests.monitoring.test_favourable_outcome import TARGET, frame_of, german_credit, upload

pytestmark = pytest.mark.django_db


def test_a_numeric_column_with_many_values_is_grouped_into_quartile_bands():
    frame = german_credit()[["sex", "age"]]

    groups, bands = banded(frame, {})

    assert list(bands) == ["age"]  # sex has two values: left as it is
    edges = np.ceil(np.quantile(frame["age"], [0.25, 0.5, 0.75])).tolist()
    assert bands["age"]["edges"] == edges
    assert bands["age"]["labels"] == [
        f"under {edges[0]:g}",
        f"{edges[0]:g} to under {edges[1]:g}",
        f"{edges[1]:g} to under {edges[2]:g}",
        f"{edges[2]:g} and over",
    ]
    expected = pd.cut(frame["age"], [-np.inf, *edges, np.inf], right=False, labels=bands["age"]["labels"])
    assert (groups["age"].astype(str) == expected.astype(str)).all()
    assert (groups["sex"] == frame["sex"]).all()


def test_configured_edges_win_and_missing_values_stay_missing():
    frame = pd.DataFrame({"age": [18, 25, 40, np.nan, 70]})

    groups, bands = banded(frame, {"age": [25, 65]})

    assert bands["age"]["source"] == "config.options.bins"
    assert groups["age"].tolist()[:3] == ["under 25", "25 to under 65", "25 to under 65"]
    assert pd.isna(groups["age"].iloc[3])
    assert groups["age"].iloc[4] == "65 and over"


def age_dataset(maya, dataset, prediction):
    """German credit with a prediction column, declaring only age sensitive and 'good' favourable."""
    frame = german_credit()[["sex", "age", TARGET]].copy()
    frame["prediction"] = prediction(frame)
    return upload(
        maya,
        dataset,
        frame,
        prediction_column="prediction",
        favourable_label="good",
        sensitive_columns=["age"],
    )


def test_a_fairness_check_on_age_judges_bands_as_fairlearn_does(maya, version, dataset):
    # a model that disfavours the young
    current = age_dataset(maya, dataset, lambda frame: np.where(frame["age"] < 30, "bad", "good"))

    run = execute(queue(maya, "fairness", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    stored = frame_of(current)
    bands = run.results["metrics"]["bands"]["age"]
    grouped = pd.cut(stored["age"], [-np.inf, *bands["edges"], np.inf], right=False, labels=bands["labels"])
    expected = demographic_parity_ratio(
        stored[TARGET] == "good", stored["prediction"] == "good", sensitive_features=grouped.astype(str)
    )
    (grouping,) = run.results["metrics"]["fairness"]["groupings"]
    assert [group["label"] for group in grouping["groups"]] == bands["labels"]
    assert all(group["judged"] for group in grouping["groups"])
    assert grouping["aggregates"]["demographic_parity_ratio"]["value"] == pytest.approx(expected, abs=1e-12)
    assert run.outcome == "fail"


@pytest.mark.parametrize(
    ("bins", "why"),
    [
        ({"sex": [1]}, "Only sensitive columns"),
        ({"age": []}, "A list of 1 to 20"),
        ({"age": [30, 20]}, "increase strictly"),
        ({"age": ["30"]}, "A list of 1 to 20"),
        ({"age": list(range(21))}, "A list of 1 to 20"),
    ],
)
def test_bad_bands_are_refused_naming_the_column(maya, version, dataset, bins, why):
    current = age_dataset(maya, dataset, lambda frame: "good")
    with pytest.raises(ValidationError) as refused:
        queue(maya, "fairness", version, current=current, options={"bins": bins})
    (field,) = refused.value.message_dict
    assert field == f"config.options.bins.{next(iter(bins))}"
    assert why in refused.value.message_dict[field][0]
