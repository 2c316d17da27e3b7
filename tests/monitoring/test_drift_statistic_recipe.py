"""Adding a drift statistic is one declaration (docs/ARCHITECTURE.md, "Add a drift statistic").

A toy statistic, declared in this test only, is forced on a column; with no other edit it is computed on
the numeric path, decides the column, is judged as its own catalogue metric and reaches the validation
report's stability table. A stored result naming a statistic nobody declared fails loudly in the report.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from monitoring.metrics import catalogue, drift_statistics
from monitoring.metrics._values import NUMERIC
from monitoring.metrics.drift_statistics import DISTANCE, Comparison, DriftStatistic
from monitoring.models import RunStatus
from reports.services.assemble.validation import stability_evidence
from tests.monitoring.conftest import execute, queue

pytestmark = pytest.mark.django_db


def mean_shift(c: Comparison) -> dict | None:
    """|mean(current) - mean(reference)| in reference standard deviations (numeric columns only)."""
    if c.numeric is None:
        return None
    scale = max(c.numeric.reference_std or 0.0, c.config.std_floor)
    shift = abs(float(np.mean(c.numeric.current)) - float(np.mean(c.numeric.reference)))
    return {"standardised": shift / scale, "absolute": shift}


TOY = DriftStatistic(
    "mean_shift",
    "standardised mean shift",
    DISTANCE,
    0.2,
    (NUMERIC,),
    mean_shift,
    score_key="standardised",
    method="|mean(current) - mean(reference)| / max(reference std, std_floor)",
)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(drift_statistics.TESTS, TOY.name, TOY)
    return TOY


def test_a_declared_statistic_flows_through_the_check_and_the_report(toy, maya, version, reference, current):
    run = execute(
        queue(
            maya,
            "drift",
            version,
            reference=reference,
            current=current,
            columns=["age", "region"],
            options={"column_tests": {"age": "mean_shift"}},
        )
    )

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    drift = run.results["metrics"]["data_drift"]
    age, region = drift["columns"]
    block = age["statistics"]["mean_shift"]
    assert "mean_shift" not in region["statistics"]  # categorical: the statistic does not apply
    assert age["test"]["name"] == "mean_shift"
    assert age["test"]["score"] == block["standardised"]
    assert age["drift_detected"] is (block["standardised"] >= 0.2)
    assert drift["method"]["tests"]["mean_shift"]["default_threshold"] == 0.2
    assert drift["method"]["mean_shift"] == TOY.method

    judged = next(e for e in run.evaluations if e["metric"] == "drift_test:mean_shift")
    assert judged["value"] == block["standardised"]
    assert judged["direction"] == catalogue.HIGHER_IS_WORSE
    assert catalogue.metric("drift_test:mean_shift").label == "standardised mean shift"

    row = next(f for f in stability_evidence(run).features if f.feature == "age")
    assert row.statistic == "standardised mean shift"
    assert row.statistic_value == pytest.approx(block["standardised"])
    assert row.p_value is None


def test_the_option_refuses_a_statistic_nobody_declared(maya, version, reference, current):
    with pytest.raises(ValidationError) as refusal:
        queue(
            maya,
            "drift",
            version,
            reference=reference,
            current=current,
            options={"column_tests": {"age": "mean_shift"}},
        )
    assert "mean_shift" in str(refusal.value.message_dict["config.options"])


def test_the_report_fails_loudly_on_a_stored_statistic_nobody_declared(
    toy, maya, version, reference, current
):
    run = execute(
        queue(
            maya,
            "drift",
            version,
            reference=reference,
            current=current,
            columns=["age"],
            options={"column_tests": {"age": "mean_shift"}},
        )
    )
    del drift_statistics.TESTS["mean_shift"]  # the declaration is gone; the stored result still names it

    with pytest.raises(KeyError, match="mean_shift"):
        stability_evidence(run)


@pytest.mark.parametrize("name", sorted(drift_statistics.TESTS))
def test_every_built_in_statistic_shows_its_declared_numbers_in_the_report(
    name, maya, version, reference, current
):
    column = "sex" if name == "z_test" else "age"  # the two-proportion test needs a binary column
    run = execute(
        queue(
            maya,
            "drift",
            version,
            reference=reference,
            current=current,
            columns=[column],
            options={"column_tests": {column: name}},
        )
    )

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    spec = drift_statistics.TESTS[name]
    block = run.results["metrics"]["data_drift"]["columns"][0]["statistics"][name]
    row = next(f for f in stability_evidence(run).features if f.feature == column)
    assert row.statistic_value == pytest.approx(block[spec.shown_key])
    assert row.p_value == (pytest.approx(block["p_value"]) if spec.is_p_value else None)
