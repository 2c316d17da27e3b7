"""Two versions side by side (monitoring.comparison): the numbers are the runs' own, a change is judged by the
metric's declared direction (a worse value is never shown as better), aliases resolve, drift is compared only
against a shared reference, and the page and the API are scoped like the model."""

from __future__ import annotations

import pytest

from monitoring import comparison
from tests.factories.records import CheckRunFactory, ModelVersionFactory
from tests.monitoring import comparison_data


@pytest.fixture
def compared(maya, credit_risk):
    return comparison_data.seed(maya, credit_risk)


def _by(rows, key, value):
    return next(row for row in rows if row[key] == value)


def test_the_comparison_shows_the_runs_numbers_judged_by_each_metrics_direction(api, victor, compared):
    response = api.as_user(victor).get("/api/v1/models/credit-compare/compare/?a=champion&b=2")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["a"]["version"], body["b"]["version"]) == (1, 2)
    assert body["a"]["aliases"] == ["champion"]
    assert body["b"]["selector"] == "2"
    runs = compared.runs
    performance = body["performance"]
    assert (performance["run_a"]["id"], performance["run_b"]["id"]) == (runs["perf_a"].pk, runs["perf_b"].pk)
    assert performance["comparable"] is True
    assert "note" not in performance
    auc = _by(performance["rows"], "metric", "roc_auc")
    assert (auc["a"], auc["b"], auc["verdict"]) == (0.8, 0.75, "worse")  # lower is worse: never green
    assert auc["delta"] == pytest.approx(-0.05)
    assert _by(performance["rows"], "metric", "accuracy")["verdict"] == "better"
    # the versions' own metrics: a declared one is judged, an undeclared one (log_loss) stays neutral
    assert _by(performance["version_metrics"], "metric", "roc_auc")["verdict"] == "better"
    assert _by(performance["version_metrics"], "metric", "log_loss")["verdict"] == "neutral"

    drift = body["drift"]
    assert drift["comparable"] is True
    assert (
        drift["reference"]["version"] == compared.reference.version
    )  # not v2's newer run on another reference
    assert drift["run_b"]["id"] == runs["drift_b"].pk
    age = _by(drift["columns"], "column", "age")
    assert (age["a"], age["b"], age["verdict"]) == (0.05, 0.25, "worse")  # higher PSI is worse
    assert _by(drift["columns"], "column", "income")["verdict"] == "better"

    grouping = body["fairness"]["groupings"][0]
    assert grouping["features"] == ["sex"]
    ratio = _by(grouping["metrics"], "metric", "demographic_parity_ratio")
    assert (ratio["a"], ratio["b"], ratio["verdict"]) == (0.9, 0.7, "worse")
    female = _by(grouping["groups"], "group", "f")
    assert (female["selection_rate"]["a"], female["selection_rate"]["b"]) == (0.5, 0.4)
    assert female["selection_rate"]["verdict"] == "neutral"

    shap = {row["feature"]: row for row in body["explainability"]["features"]}
    assert (shap["age"]["rank_a"], shap["age"]["rank_b"], shap["age"]["movement"]) == (2, 1, "up 1")
    assert (shap["income"]["rank_a"], shap["income"]["rank_b"], shap["income"]["movement"]) == (
        1,
        2,
        "down 1",
    )
    assert shap["sex"]["movement"] == "new in B"
    assert shap["region"]["movement"] == "not in B"

    artifact = {row["field"]: row for row in body["artifact"]["fields"]}
    assert artifact["artifact_sha256"]["a"] == compared.v1.artifact_sha256
    assert artifact["artifact_size"]["same"] is False
    assert artifact["framework"]["same"] is True
    parameters = {row["name"]: row["status"] for row in body["artifact"]["parameters"]}
    assert parameters == {"C": "changed", "max_iter": "added", "penalty": "removed"}
    training = body["datasets"]["training"][0]
    assert (training["a"]["rows"], training["b"]["rows"]) == (1000, 1200)
    assert training["columns_added"] == ["region"]
    assert training["same_file"] is False

    page = api.get("/models/credit-compare/compare/?a=champion&b=2")
    assert page.status_code == 200
    html = page.content.decode()
    # the page renders the same numbers, the worse AUC in the "worse" colour
    assert '<tr data-metric="roc_auc"><td data-label="Metric">ROC AUC</td><td data-label="A">0.8</td>' in html
    assert 'class="delta worse">↓ -0.05 <span class="verdict">worse</span>' in html
    assert body["artifact"]["fields"][4]["shown_a"] == "no"


def test_a_change_is_judged_by_the_declared_direction_and_undeclared_metrics_are_never_coloured():
    assert comparison.change("rmse", 1.0, 1.5)["verdict"] == "worse"
    assert comparison.change("rmse", 1.5, 1.0)["verdict"] == "better"
    assert comparison.change("roc_auc", 0.9, 0.8)["verdict"] == "worse"
    assert comparison.change("psi", 0.1, 0.1)["verdict"] == "same"
    assert comparison.change("something_else", 1, 2)["verdict"] == "neutral"
    assert comparison.change("roc_auc", None, 0.8)["verdict"] == "neutral"


def test_drift_is_not_compared_without_a_shared_reference(api, victor, compared):
    v3 = ModelVersionFactory(model=compared.model, version=3)
    run = compared.runs["drift_b_other"]
    CheckRunFactory(
        model_version=v3,
        kind="drift",
        status="succeeded",
        outcome="pass",
        result_sha256="x" * 64,
        results=run.results,
        reference_dataset=compared.other_reference,
        current_dataset=run.current_dataset,
    )

    body = api.as_user(victor).get("/api/v1/models/credit-compare/compare/?a=1&b=3").json()

    drift = body["drift"]
    assert drift["comparable"] is False
    assert drift["columns"] == []
    assert drift["reference"] is None
    assert "same reference dataset version" in drift["note"]
    assert "No succeeded performance check of v3" in body["performance"]["note"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("b=2", "a"),
        ("a=1&b=9", "b"),
        ("a=nobody&b=2", "a"),
        ("a=1&b=no%20such", "b"),
        ("a=0&b=1", "a"),
        ("a=1&b=" + "9" * 40, "b"),
    ],
)
def test_a_bad_version_is_a_400_naming_the_parameter(api, victor, compared, query, field):
    response = api.as_user(victor).get(f"/api/v1/models/credit-compare/compare/?{query}")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    page = api.get(f"/models/credit-compare/compare/?{query}")
    if "a=" in query:  # the page fills in a missing a (the champion) instead
        assert page.status_code == 400
        assert 'id="compare-error"' in page.content.decode()


@pytest.mark.parametrize("persona", ["maya", "victor", "rita", "aaron", "olga"])
def test_the_comparison_is_scoped_like_the_model(api, compared, persona, request):
    user = request.getfixturevalue(persona)
    client = api.as_user(user)

    expected = 404 if persona == "olga" else 200
    assert client.get("/api/v1/models/credit-compare/compare/?a=1&b=2").status_code == expected
    assert client.get("/models/credit-compare/compare/").status_code == expected
