"""The favourable outcome is declared, not guessed: where a check's positive label comes from, how scores
from a column and from the model are read as its probability, and the form that starts such a check.

The data is the German credit data the demo uses (data/german-credit), with its text labels good/bad.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from fairlearn.metrics import demographic_parity_ratio
from sklearn.metrics import roc_auc_score

from monitoring.models import CheckRun, RunStatus
from registry.demo import SOURCE_CSV, TARGET
from registry.services import datasets as dataset_services
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue

pytestmark = pytest.mark.django_db
CHECKS = reverse("api:check-run-list")
NUMERIC = ["duration", "credit_amount", "age"]


@functools.cache
def german_credit() -> pd.DataFrame:
    return pd.read_csv(SOURCE_CSV)


@functools.cache
def text_label_pipeline():
    """A scikit-learn pipeline fitted on the labels themselves: its classes_ are ['bad', 'good']."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = german_credit()
    encode = ColumnTransformer(
        [("sex", OneHotEncoder(handle_unknown="ignore"), ["sex"]), ("numbers", StandardScaler(), NUMERIC)]
    )
    pipeline = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))])
    return pipeline.fit(data[["sex", *NUMERIC]], data[TARGET])


def upload(maya, dataset, frame, **fields):
    fields.setdefault("target_column", TARGET)
    fields.setdefault("sensitive_columns", ["sex"])
    return factories.make_dataset_version(maya, dataset, frame, declare=False, **fields)


@pytest.fixture
def credit(maya, dataset):
    """The German credit rows with a P(bad) score column and its labels, declaring 'good' favourable."""
    frame = german_credit()[["sex", *NUMERIC, TARGET]].copy()
    pipeline = text_label_pipeline()
    bad = list(pipeline.classes_).index("bad")
    frame["score"] = pipeline.predict_proba(frame[["sex", *NUMERIC]])[:, bad].round(6)
    frame["prediction"] = np.where(frame["score"] >= 0.5, "bad", "good")
    return upload(maya, dataset, frame, prediction_column="prediction", favourable_label="good")


@pytest.fixture
def unscored(maya, dataset):
    """The same rows without predictions, so a check has to score them with the model."""
    return upload(maya, dataset, german_credit()[["sex", *NUMERIC, TARGET]], favourable_label="good")


@pytest.fixture
def pipeline_version(maya, model):
    return factories.make_version(maya, model, factories.skops_bytes(text_label_pipeline()))


def frame_of(version) -> pd.DataFrame:
    from monitoring import data

    return data.read_dataset(version)


# --- where the positive label comes from -------------------------------------------------------------


def test_a_fairness_check_with_its_defaults_succeeds_on_the_german_credit_data(maya, version, credit):
    run = execute(queue(maya, "fairness", version, current=credit))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.config["positive_label"] == "good"
    assert run.config["positive_label_source"] == f"favourable_label of dataset {credit}"
    frame = frame_of(credit)
    expected = demographic_parity_ratio(
        frame[TARGET] == "good", frame["prediction"] == "good", sensitive_features=frame["sex"]
    )
    aggregates = run.results["metrics"]["fairness"]["groupings"][0]["aggregates"]
    assert aggregates["demographic_parity_ratio"]["value"] == pytest.approx(expected, abs=1e-12)


def test_the_models_declaration_applies_when_the_dataset_declares_none(maya, model, version, dataset):
    from registry.services import inventory

    inventory.model_update(actor=maya, model=model, favourable_label="good")
    version.model.refresh_from_db()
    frame = german_credit()[["sex", *NUMERIC, TARGET]].assign(prediction="good")
    current = upload(maya, dataset, frame, prediction_column="prediction")

    run = execute(queue(maya, "fairness", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert (run.config["positive_label"], run.config["positive_label_source"]) == (
        "good",
        "favourable_label of model credit-scoring",
    )


def test_the_request_wins_and_says_so(maya, version, credit):
    run = queue(maya, "fairness", version, current=credit, positive_label="bad")

    assert (run.config["positive_label"], run.config["positive_label_source"]) == ("bad", "request")


def test_a_check_without_a_declared_favourable_outcome_is_refused_with_what_to_set(
    api, maya, version, dataset
):
    frame = german_credit()[["sex", *NUMERIC, TARGET]].assign(prediction="good")
    current = upload(maya, dataset, frame, prediction_column="prediction")
    payload = {
        "kind": "fairness",
        "model": version.model.name,
        "version": version.version,
        "current_dataset": f"{dataset.name}:{current.version}",
    }

    response = api.as_user(maya).post(CHECKS, payload, format="json")

    assert response.status_code == 400, response.json()
    [message] = response.json()["error"]["fields"]["config.positive_label"]
    assert "Set config.positive_label" in message
    assert f'favourable_label on dataset "{dataset.name} v{current.version}"' in message
    assert 'or on model "credit-scoring"' in message
    assert not CheckRun.objects.exists()


def test_a_label_the_profiled_target_does_not_hold_is_refused_before_queuing(maya, version, credit):
    dataset_services.dataset_version_profile(version_id=credit.pk)
    credit.refresh_from_db()

    with pytest.raises(ValidationError) as refused:
        queue(maya, "fairness", version, current=credit, positive_label=1)

    [message] = refused.value.message_dict["config.positive_label"]
    assert message == (
        f"1 (from request) is not a value of the target column 'credit_risk' of dataset {credit}; "
        "its values are 'good', 'bad'."
    )


def test_a_regression_check_needs_no_favourable_outcome(maya, version, dataset):
    frame = factories.credit_frame(seed=40)
    current = factories.make_dataset_version(maya, dataset, frame, favourable_label=None)

    run = queue(maya, "performance", version, current=current, task="regression", target="income")

    assert "positive_label" not in run.config


# --- scores read from a column ------------------------------------------------------------------------


def test_a_score_column_is_read_as_the_probability_of_the_positive_label_and_says_so(maya, version, credit):
    run = execute(queue(maya, "performance", version, current=credit, prediction_column="score"))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    source = run.results["metrics"]["predictions"]
    assert source.startswith("scores in column 'score' read as P(credit_risk = good);")


def test_a_score_of_the_other_label_is_turned_into_the_positive_labels_probability(maya, version, credit):
    run = execute(
        queue(maya, "performance", version, current=credit, prediction_column="score", score_label="bad")
    )

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    frame = frame_of(credit)
    report = run.results["metrics"]["performance"]
    assert report["positive_label"] == "good"
    assert report["roc_auc"] == pytest.approx(
        roc_auc_score(frame[TARGET] == "good", 1 - frame["score"]), abs=1e-12
    )
    assert report["roc_auc"] == pytest.approx(
        roc_auc_score(frame[TARGET] == "bad", frame["score"]), abs=1e-12
    )
    assert run.results["metrics"]["predictions"] == (
        "scores in column 'score' read as P(credit_risk = bad), so P(credit_risk = good) = 1 - score; "
        "label = good where P(credit_risk = good) >= 0.5"
    )


def test_a_score_label_is_refused_where_no_score_column_is_read(maya, version, unscored):
    with pytest.raises(ValidationError) as refused:
        queue(maya, "performance", version, current=unscored, score_label="bad")

    assert "config.score_label" in refused.value.message_dict


def test_the_other_label_needs_a_binary_target(maya, version, dataset):
    frame = german_credit()[["sex", *NUMERIC, TARGET]].assign(score=0.3)
    frame.loc[:9, TARGET] = "unknown"
    current = upload(maya, dataset, frame, prediction_column="score", favourable_label="good")

    run = execute(queue(maya, "performance", version, current=current, score_label="bad"))

    assert run.status == RunStatus.FAILED
    assert "binary target" in run.error_message
    assert "'unknown'" in run.error_message


# --- scores from the model, mapped through its classes ------------------------------------------------


def parity_from_probability(frame: pd.DataFrame, label: str) -> float:
    """Fairlearn's ratio of the rates of ``label``, predicted where the model's P(label) >= 0.5."""
    pipeline = text_label_pipeline()
    probability = pipeline.predict_proba(frame[["sex", *NUMERIC]])[:, list(pipeline.classes_).index(label)]
    return demographic_parity_ratio(
        frame[TARGET] == label, probability >= 0.5, sensitive_features=frame["sex"]
    )


def test_the_model_is_scored_through_its_classes_for_the_declared_label(maya, pipeline_version, unscored):
    good = execute(queue(maya, "fairness", pipeline_version, current=unscored))
    bad = execute(queue(maya, "fairness", pipeline_version, current=unscored, positive_label="bad"))

    assert good.status == bad.status == RunStatus.SUCCEEDED, (good.error_message, bad.error_message)
    frame = frame_of(unscored)
    ratios = {
        run.config["positive_label"]: run.results["metrics"]["fairness"]["groupings"][0]["aggregates"][
            "demographic_parity_ratio"
        ]["value"]
        for run in (good, bad)
    }
    assert ratios["good"] == pytest.approx(parity_from_probability(frame, "good"), abs=1e-12)
    assert ratios["bad"] == pytest.approx(parity_from_probability(frame, "bad"), abs=1e-12)
    assert abs(ratios["good"] - ratios["bad"]) > 0.01
    assert good.diagnostics["sandbox"]["output"] == "predict_proba[:, 1] (classes_[1] = 'good')"
    assert bad.diagnostics["sandbox"]["output"] == "predict_proba[:, 0] (classes_[0] = 'bad')"
    assert good.results["metrics"]["predictions"] == (
        "scored by the model artifact in the sandbox: predict_proba[:, 1] (classes_[1] = 'good'), "
        "read as P(credit_risk = good); label = good where P(credit_risk = good) >= 0.5"
    )


def test_a_model_whose_classes_do_not_name_the_label_fails_the_run_clearly(maya, model, unscored):
    from sklearn.linear_model import LogisticRegression

    data = german_credit()
    flags = LogisticRegression(max_iter=500).fit(data[NUMERIC], data[TARGET] == "bad")
    version = factories.make_version(maya, model, factories.skops_bytes(flags))

    run = execute(queue(maya, "fairness", version, current=unscored, features=NUMERIC))

    assert run.status == RunStatus.FAILED
    assert run.error_type == "ClassMappingError"
    assert run.error_message.startswith(
        "the model's classes_ are [False, True]; none is the positive label 'good'."
    )


def test_a_booster_cannot_score_a_text_label(maya, model, unscored, tmp_path):
    import xgboost

    data = german_credit()
    booster = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(
        data[NUMERIC], (data[TARGET] == "good").astype(int)
    )
    path = tmp_path / "model.json"
    booster.get_booster().save_model(path)
    version = factories.make_version(maya, model, path.read_bytes(), "model.json")

    run = execute(queue(maya, "fairness", version, current=unscored, features=NUMERIC))

    assert run.status == RunStatus.FAILED
    assert run.error_type == "ClassMappingError"
    assert "The XGBoost booster names no classes" in run.error_message
    assert "positive label 'good'" in run.error_message


# --- the check form -----------------------------------------------------------------------------------


@pytest.fixture
def demo(settings, monkeypatch):
    """The demo's registry (users, the German credit model and datasets), seeded as `make run` does."""
    from accounts.demo import seed_users
    from registry.demo import seed_registry

    settings.ATTEST_DEMO = True
    settings.ATTEST_DEMO_PASSWORD = "demo-password-for-tests"
    monkeypatch.setattr(dataset_services, "_queue_profile", lambda version_id: None)
    seed_users()
    seed_registry()


def test_the_form_fills_in_the_declared_favourable_outcome_and_a_fairness_check_with_its_defaults_succeeds(
    client, demo
):
    from accounts.models import User

    client.force_login(User.objects.get(username="maya"))
    url = f"{reverse('check-new')}?model=credit-scoring&kind=fairness"

    form = client.get(url).context["form"]
    assert form["positive_label"].value() == "good"
    assert "favourable outcome for the person" in form.fields["positive_label"].help_text
    defaults = {name: form[name].value() for name in ("kind", "current_dataset", "sensitive_columns")}
    response = client.post(url, defaults | {"positive_label": form["positive_label"].value()})

    assert response.status_code == 302, response.context["form"].errors
    run = execute(CheckRun.objects.get())
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.config["positive_label"] == "good"
    assert run.config["positive_label_source"] == "favourable_label of dataset german-credit-production v1"


def test_the_demo_model_names_its_classes_and_its_score_is_the_probability_of_bad(demo):
    import skops.io

    from registry import storage
    from registry.models import DatasetVersion, ModelVersion

    version = ModelVersion.objects.get(model__name="credit-scoring")
    with storage.open_blob(version.artifact_key) as blob:
        content = blob.read()
    pipeline = skops.io.loads(content, trusted=skops.io.get_untrusted_types(data=content))
    validation = DatasetVersion.objects.get(dataset__name="german-credit-validation")
    frame = frame_of(validation)

    assert list(pipeline.classes_) == ["bad", "good"]
    assert version.model.favourable_label == validation.favourable_label == "good"
    expected = pipeline.predict_proba(frame[pipeline.feature_names_in_])[:, 0]
    np.testing.assert_allclose(frame["score"], expected, atol=1e-6)
    assert roc_auc_score(frame[TARGET] == "bad", frame["score"]) == pytest.approx(
        version.metrics["validation_auc"], abs=1e-6
    )
    assert version.metrics["validation_auc"] > 0.75
