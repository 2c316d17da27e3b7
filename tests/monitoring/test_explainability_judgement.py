"""Explainability is judged on what can fail: the share of |SHAP| on sensitive and prohibited features and
the rank stability of the top features against a baseline; additivity is only a diagnostic.

The runs execute the model in the sandbox for real; the shares are checked against shap called directly.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest
import shap
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone
from sklearn.ensemble import GradientBoostingClassifier

from monitoring.checks import explainability
from monitoring.checks.base import outcome_of
from monitoring.models import CheckRun, RunStatus
from reports.rendering import validation as rendering
from reports.services.assemble.validation import explainability_evidence
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue
from workflow import thresholds as policy_thresholds
from workflow.models import Policy
from workflow.services import policies as policy_services

pytestmark = pytest.mark.django_db

FEATURES = ["income", "debt", "tenure", "age", "gender"]
STEADY = {"income": 2.0, "debt": -1.2, "tenure": 0.7, "age": 0.35, "gender": 0.0}
REVERSED = {"income": 0.2, "debt": -0.4, "tenure": 0.8, "age": 2.0, "gender": 0.0}
BY_GENDER = {"income": 0.3, "debt": -0.2, "tenure": 0.1, "age": 0.1, "gender": 3.0}
LIST = reverse("api:check-run-list")


def applicants(weights: dict[str, float], *, seed: int, rows: int = 300) -> pd.DataFrame:
    """Seeded numeric applicants whose label follows ``weights`` (gender is 0/1)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=rows).round(3) for name in FEATURES[:-1]})
    frame["gender"] = rng.integers(0, 2, rows)
    logit = sum(weight * frame[name] for name, weight in weights.items())
    frame["label"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def fitted(weights: dict[str, float]) -> GradientBoostingClassifier:
    frame = applicants(weights, seed=1, rows=600)
    model = GradientBoostingClassifier(n_estimators=40, max_depth=2, random_state=0)
    return model.fit(frame[FEATURES], frame["label"])


def register(maya, model, estimator):
    return factories.make_version(maya, model, factories.skops_bytes(estimator))


def data(maya, dataset, frame, **fields):
    return factories.make_dataset_version(maya, dataset, frame, **fields)


def judged(run: CheckRun, metric: str) -> dict:
    return next(item for item in run.evaluations if item["metric"] == metric)


# ------------------------------------------------------------------------------ sensitive and prohibited


def test_it_gives_the_sensitive_share_that_shap_gives(maya, model, dataset):
    """GIVEN a model that uses age and gender a little, and a dataset declaring both sensitive
    WHEN its explainability check runs
    THEN the share of |SHAP| on them equals the share computed from shap's own TreeSHAP values."""
    weights = {"income": 1.0, "debt": -0.8, "tenure": 0.5, "age": 0.3, "gender": 0.6}
    estimator = fitted(weights)
    version = register(maya, model, estimator)
    frame = applicants(weights, seed=3)
    current = data(maya, dataset, frame, sensitive_columns=["age", "gender"])

    run = execute(queue(maya, "explainability", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.asarray(shap.TreeExplainer(estimator).shap_values(frame[FEATURES]))
    mean_abs = np.abs(values).mean(axis=0)
    expected = (mean_abs[3] + mean_abs[4]) / mean_abs.sum()
    sensitive = run.results["metrics"]["reliance"]["sensitive"]
    assert sensitive["share"] == pytest.approx(expected, rel=1e-9)
    assert sensitive["by_feature"]["gender"] == pytest.approx(mean_abs[4] / mean_abs.sum(), rel=1e-9)
    assert sensitive["source"] == f"dataset {current}'s sensitive_columns"
    evaluation = judged(run, "sensitive_shap_share")
    assert evaluation["value"] == sensitive["share"]
    assert evaluation["threshold"] == 0.1
    assert evaluation["status"] == ("pass" if expected <= 0.1 else "fail")
    assert "starting bound" in evaluation["threshold_source"]


def test_a_model_that_relies_on_a_sensitive_and_prohibited_feature_fails(maya, model, dataset):
    """GIVEN a model driven by gender, gender declared sensitive by the dataset and prohibited by the model
    WHEN its explainability check runs
    THEN both shares fail, naming gender, and so does the check."""
    version = register(maya, model, fitted(BY_GENDER))
    version.model.prohibited_features = ["gender"]  # the registry field, as getattr reads it
    current = data(maya, dataset, applicants(BY_GENDER, seed=3), sensitive_columns=["gender"])

    run = execute(queue(maya, "explainability", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    sensitive, prohibited = judged(run, "sensitive_shap_share"), judged(run, "prohibited_shap_share")
    assert sensitive["value"] > 0.5
    assert (sensitive["status"], prohibited["status"]) == ("fail", "fail")
    assert prohibited["value"] == sensitive["value"]
    assert (prohibited["threshold"], prohibited["threshold_name"]) == (0.0, "prohibited_shap_share_max")
    assert "gender" in prohibited["explanation"]
    assert run.config["prohibited"]["source"] == f"model {model.name}'s prohibited_features"
    assert run.outcome == "fail"


def test_features_named_in_the_request_replace_the_declared_ones(maya, model, dataset):
    version = register(maya, model, fitted(BY_GENDER))
    current = data(maya, dataset, applicants(BY_GENDER, seed=3, rows=50), sensitive_columns=["gender"])

    run = queue(
        maya,
        "explainability",
        version,
        current=current,
        sensitive_features=["age"],
        prohibited_features=[],
    )

    assert run.config["sensitive"] == {"declared": ["age"], "source": "config.sensitive_features"}
    assert run.config["prohibited"] == {"declared": [], "source": "config.prohibited_features"}


# ---------------------------------------------------------------------------------------------- stability


def test_a_stable_model_passes_against_its_reference(maya, model, dataset):
    """GIVEN a model explained on a current and a reference dataset drawn alike
    WHEN its explainability check runs with the reference
    THEN the model is explained on a seeded sample of the reference too and its ranking agrees."""
    version = register(maya, model, fitted(STEADY))
    reference = data(maya, dataset, applicants(STEADY, seed=2))
    current = data(maya, dataset, applicants(STEADY, seed=3))

    run = execute(
        queue(
            maya,
            "explainability",
            version,
            reference=reference,
            current=current,
            options={"reference_rows": 200},
        )
    )

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    stability = run.results["metrics"]["stability"]
    assert stability["baseline"]["source"] == "reference_dataset"
    assert stability["baseline"]["dataset"] == str(reference)
    assert stability["baseline"]["rows_explained"] == 200
    assert stability["current_top"][:2] == ["income", "debt"] == stability["baseline_top"][:2]
    evaluation = judged(run, "top_feature_rank_stability")
    assert evaluation["status"] == "pass"
    assert evaluation["value"] >= 0.5
    assert str(reference) in evaluation["scope"]
    assert "shap_timing_reference" in run.diagnostics
    # nothing sensitive declared: not judged, and said so
    assert run.results["metrics"]["reliance"]["sensitive"]["judged"] is False
    assert run.outcome == "pass"


def test_a_ranking_unlike_the_baseline_run_warns(client, maya, model, dataset):
    """GIVEN version 1's explainability run and a version 2 that relies on its features the other way round
    WHEN version 2 is checked with version 1's run as the baseline
    THEN the rank stability is negative and warns; the run records the baseline it was compared with,
    and the run page and the validation report say so."""
    current = data(maya, dataset, applicants(STEADY, seed=3))
    first = execute(queue(maya, "explainability", register(maya, model, fitted(STEADY)), current=current))
    second_version = register(maya, model, fitted(REVERSED))

    run = execute(
        queue(maya, "explainability", second_version, current=current, options={"baseline_run": first.pk})
    )

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    baseline = run.config["baseline"]
    assert (baseline["source"], baseline["run"], baseline["result_sha256"]) == (
        "run",
        first.pk,
        first.result_sha256,
    )
    evaluation = judged(run, "top_feature_rank_stability")
    assert evaluation["value"] < 0
    assert evaluation["status"] == "warn"
    assert f"run #{first.pk}" in evaluation["scope"]
    assert run.outcome == "warn"

    client.force_login(maya)
    page = client.get(reverse("check-detail", args=[run.pk])).content.decode()
    assert "Stability of the top features" in page
    assert f"#{first.pk}</a>" in page
    assert "Diagnostic, not judged" in page

    evidence = explainability_evidence(run)
    stability_row = next(item for item in evidence.judgements if "rank stability" in item.name)
    assert (stability_row.value, stability_row.threshold, stability_row.outcome) == (
        evaluation["value"],
        0.5,
        "warn",
    )
    assert any(f"run #{first.pk}" in line and "Kendall" in line for line in evidence.statements)
    assert any(line.startswith("top_feature_rank_stability_min = 0.5") for line in evidence.threshold_sources)
    blocks = rendering._explainability_blocks(evidence, [])
    assert any(block.get("kind") == "table" for block in blocks)


def test_without_a_baseline_stability_is_not_judged_and_additivity_alone_cannot_pass(maya, version, dataset):
    """GIVEN no reference, no baseline run and no sensitive feature that the data declares
    WHEN the check runs
    THEN nothing is judged (additivity holds but is a diagnostic), so the check warns and says why."""
    current = data(maya, dataset, factories.credit_frame(seed=4, rows=80), sensitive_columns=[])

    run = execute(queue(maya, "explainability", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.results["metrics"]["explanation"]["additivity"]["holds"] is True
    stability = run.results["metrics"]["stability"]
    assert stability["judged"] is False
    assert "no reference dataset" in stability["reason"]
    assert run.evaluations == []
    assert run.outcome == "warn"
    assert "no metric could be judged" in run.outcome_reason


def test_a_broken_additivity_warns_but_a_holding_one_is_no_evaluation():
    metrics = {
        "explanation": {
            "additivity": {"holds": True, "max_abs_deviation": 0.0, "tolerance": 1e-4, "rows_checked": 9}
        },
        "reliance": {"sensitive": {"judged": False}, "prohibited": {"judged": False}},
        "stability": {"judged": False, "baseline": {"source": None}},
    }
    assert explainability.evaluate(metrics, {}) == []
    assert outcome_of([])[0] == "warn"

    metrics["explanation"]["additivity"] |= {"holds": False, "max_abs_deviation": 0.3}
    (broken,) = explainability.evaluate(metrics, {})
    assert (broken["metric"], broken["status"]) == ("shap_additivity", "warn")


def test_a_ranking_of_too_few_features_is_not_judged_and_says_why():
    stability = {"baseline": {"source": "reference_dataset", "dataset": "d v1"}, "top_k": 5, "value": None}
    stability["reason"] = "only 2 feature(s) with a non-zero importance among the top features"
    metrics = {"explanation": {"additivity": {"holds": True}}, "reliance": {}, "stability": stability}

    assert explainability.evaluate(metrics, {"top_feature_rank_stability_min": {"value": 0.5}}) == []
    assert "not judged, only 2 feature(s)" in explainability.describe(metrics)[0]


# ------------------------------------------------------------------------------------------------- policy


@pytest.fixture
def policies(db):
    if not Policy.objects.exists():
        importlib.import_module("accounts.migrations.0006_seed_catalogue_and_policies").seed(
            django_apps, None
        )


def test_a_policy_bound_tightens_the_threshold_and_binds(maya, model, version, current, policies):
    """GIVEN the model's tier policy asks for a sensitive share of at most 0.05
    WHEN a check asks for a laxer 0.5
    THEN the policy's 0.05 applies, marked binding and attributed to the policy, and judges the share;
    a bounded metric the run could not judge warns."""
    active = Policy.objects.get(tier=model.risk_tier, is_active=True)
    fields = ("required_checks", "required_evidence", "stages", "gated_environments", "segregation")
    rules = {field: getattr(active, field) for field in fields}
    rules["required_checks"] = [
        *active.required_checks,
        {"kind": "explainability", "metric": "sensitive_shap_share", "max": 0.05},
        {"kind": "explainability", "metric": "top_feature_rank_stability", "min": 0.7},
    ]
    policy = policy_services.policy_create_version(actor=None, tier=model.risk_tier, rules=rules)

    run = queue(
        maya, "explainability", version, current=current, thresholds={"sensitive_shap_share_max": 0.5}
    )

    applied = run.thresholds["sensitive_shap_share_max"]
    assert applied["value"] == 0.05
    assert applied["binding"] is True
    assert applied["source"].startswith(f"policy: tier {policy.tier} v{policy.version}")
    assert run.thresholds["top_feature_rank_stability_min"]["value"] == 0.7
    metrics = {
        "explanation": {"additivity": {"holds": True}},
        "reliance": {
            "sensitive": {
                "judged": True,
                "declared": ["sex"],
                "explained": ["sex"],
                "share": 0.08,
                "by_feature": {"sex": 0.08},
            },
            "prohibited": {"judged": False},
        },
        "stability": {"judged": False, "baseline": {"source": None}, "reason": "no baseline: no reference"},
    }
    sensitive, stability = explainability.evaluate(metrics, run.thresholds)
    assert (sensitive["status"], sensitive["threshold"]) == ("fail", 0.05)
    assert sensitive["threshold_source"].startswith("policy:")
    # the policy asks for rank stability, which this run could not judge: that is not a silent pass
    assert (stability["metric"], stability["value"], stability["status"]) == (
        "top_feature_rank_stability",
        None,
        "warn",
    )
    assert "not judged: no baseline" in stability["explanation"]


def test_policy_bounds_name_the_declared_thresholds():
    names = {
        ("sensitive_shap_share", "max"): "sensitive_shap_share_max",
        ("prohibited_shap_share", "max"): "prohibited_shap_share_max",
        ("top_feature_rank_stability", "min"): "top_feature_rank_stability_min",
    }
    for (metric, bound), name in names.items():
        assert policy_thresholds.threshold_name("explainability", metric, bound) == name
    policy_services.validate_rules(
        {
            "stages": [{"key": "v", "role": "validator", "quorum": 1, "meaning": "review"}],
            "required_checks": [{"kind": "explainability", "metric": m, b: 0.1} for m, b in names],
        }
    )
    with pytest.raises(Exception, match="would never bind"):
        policy_services.validate_rules(
            {
                "stages": [{"key": "v", "role": "validator", "quorum": 1, "meaning": "review"}],
                "required_checks": [{"kind": "explainability", "metric": "sensitive_shap_share", "min": 0.1}],
            }
        )


# ----------------------------------------------------------------------------------------------- options


def recorded_run(actor, version, kind: str = "explainability", status: str = RunStatus.SUCCEEDED) -> CheckRun:
    """A finished run stored as a worker would leave it (a baseline candidate), without computing."""
    importance = [{"feature": "age", "mean_abs_shap": 0.2}, {"feature": "income", "mean_abs_shap": 0.1}]
    run = CheckRun(
        kind=kind, model_version=version, artifact_sha256=version.artifact_sha256, requested_by=actor
    )
    run.results = {"metrics": {"explanation": {"global_importance": importance}}}
    run.status, run.outcome, run.result_sha256 = status, "pass", "0" * 64
    if status == RunStatus.FAILED:
        run.outcome, run.result_sha256, run.error_message = "", "", "boom"
    run.started_at = run.finished_at = timezone.now()
    run.save()
    return run


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"options": {"top_k": 2}}, "config.options.top_k"),
        ({"options": {"top_k": 51}}, "config.options.top_k"),
        ({"options": {"top_k": "5"}}, "config.options.top_k"),
        ({"options": {"reference_rows": 0}}, "config.options.reference_rows"),
        ({"options": {"reference_rows": 100_001}}, "config.options.reference_rows"),
        ({"options": {"max_rows": 1_000_000}}, "config.options.max_rows"),
        ({"options": {"max_rows": None}}, "config.options.max_rows"),
        ({"options": {"background_size": 0}}, "config.options.background_size"),
        ({"options": {"seed": -1}}, "config.options.seed"),
        ({"options": {"time_budget_s": 0}}, "config.options.time_budget_s"),
        ({"options": {"explainer": "kernel"}}, "config.options.explainer"),
        ({"options": {"baseline_run": 0}}, "config.options.baseline_run"),
        ({"options": {"baseline_run": 10**9}}, "config.options.baseline_run"),
        ({"sensitive_features": "sex"}, "config.sensitive_features"),
        ({"sensitive_features": ["sexx"]}, "config.sensitive_features"),
        ({"prohibited_features": [1]}, "config.prohibited_features"),
        ({"sensitive_columns": ["sex"]}, "config.sensitive_columns"),
        ({"thresholds": {"sensitive_shap_share_min": 0.1}}, "config.thresholds.sensitive_shap_share_min"),
    ],
)
def test_it_answers_400_naming_the_option_at_fault(api, maya, version, current, config, field):
    response = api.as_user(maya).post(LIST, request_body(version, current, config), format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == [field]
    assert not CheckRun.objects.filter(kind="explainability").exists()


def request_body(version, current, config: dict) -> dict:
    return {
        "kind": "explainability",
        "model": version.model.name,
        "version": version.version,
        "current_dataset": f"{current.dataset.name}:{current.version}",
        "config": config,
    }


def test_it_accepts_only_a_succeeded_explainability_run_of_the_same_model_as_baseline(
    api, maya, credit_risk, version, current
):
    other_model = factories.make_model(maya, credit_risk, name="other-model")
    unusable = {
        "another model's run": recorded_run(maya, factories.skops_version(maya, other_model)),
        "a drift run": recorded_run(maya, version, kind="drift"),
        "a failed run": recorded_run(maya, version, status=RunStatus.FAILED),
    }
    for why, run in unusable.items():
        config = {"options": {"baseline_run": run.pk}}
        response = api.as_user(maya).post(LIST, request_body(version, current, config), format="json")
        assert response.status_code == 400, why
        assert list(response.json()["error"]["fields"]) == ["config.options.baseline_run"], why

    usable = recorded_run(maya, version)
    config = {"options": {"baseline_run": usable.pk, "top_k": 3}}
    response = api.as_user(maya).post(LIST, request_body(version, current, config), format="json")
    assert response.status_code == 202, response.json()
    assert CheckRun.objects.get(pk=response.json()["id"]).config["baseline"]["run"] == usable.pk
