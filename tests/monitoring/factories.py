"""Registered models, versions with real artifacts, and datasets for monitoring tests, via registry services.

The data is synthetic and seeded: a small credit-scoring table with two numeric features, two
categorical ones (one of them sensitive), a binary target and a model score column.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import skops.io
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from registry import storage
from registry.models.datasets import DatasetRole
from registry.services import datasets, inventory, versions

LOW_RISK = {"materiality": "low", "complexity": "low", "reliance": "low", "regulatory_exposure": "low"}
FEATURES = ["age", "income"]


def credit_frame(rows: int = 400, *, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """Seeded synthetic applicants; ``shift`` moves age and income (drift) and the region mix."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + 10 * shift, 10, rows).round(1)
    income = rng.lognormal(8 + shift, 0.4, rows).round(2)
    sex = rng.choice(["f", "m"], rows)
    region = rng.choice(["north", "south", "east"], rows, p=[0.5 - 0.2 * shift, 0.3, 0.2 + 0.2 * shift])
    logit = 0.05 * (age - 40) + 0.8 * (np.log(income) - 8) + 0.3 * (sex == "m")
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    score = np.clip(1 / (1 + np.exp(-logit)) + rng.normal(0, 0.05, rows), 0, 1).round(4)
    return pd.DataFrame(
        {"age": age, "income": income, "sex": sex, "region": region, "label": label, "score": score}
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def upload(content: bytes, filename: str) -> storage.Upload:
    return storage.upload_from_file(io.BytesIO(content), filename)


def make_model(actor, team, name: str = "credit-scoring"):
    return inventory.model_create(
        actor=actor, team=team, name=name, title=name.replace("-", " ").title(), tier_answers=LOW_RISK
    )


def trained_model(kind: str = "logistic", frame: pd.DataFrame | None = None):
    frame = credit_frame(seed=1) if frame is None else frame
    model = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0)
    if kind == "logistic":
        model = LogisticRegression()
    return model.fit(frame[FEATURES], frame["label"])


def skops_bytes(model) -> bytes:
    return skops.io.dumps(model)


def make_version(actor, model, content: bytes, filename: str = "model.skops", **metadata):
    version, _ = versions.model_version_submit(
        actor=actor,
        model=model,
        upload=upload(content, filename),
        metadata=versions.VersionMetadata(**metadata),
    )
    return version


def skops_version(actor, model, kind: str = "logistic"):
    return make_version(actor, model, skops_bytes(trained_model(kind)))


def pickle_version(actor, model):
    import pickle

    return make_version(actor, model, pickle.dumps({"not": "a model"}, protocol=4), "model.pkl")


def make_dataset(actor, team, name: str = "applications"):
    return datasets.dataset_create(actor=actor, team=team, name=name)


def make_dataset_version(
    actor, dataset, frame: pd.DataFrame, *, role: str = DatasetRole.OTHER, declare: bool = True, **fields
):
    if declare:
        fields.setdefault("target_column", "label" if "label" in frame else "")
        # label 1 is the favourable outcome of these synthetic applicants (what checks compare and score)
        has_ones = fields["target_column"] == "label" and bool((frame["label"] == 1).any())
        fields.setdefault("favourable_label", 1 if has_ones else None)
        fields.setdefault("prediction_column", "score" if "score" in frame else "")
        fields.setdefault("sensitive_columns", ["sex"] if "sex" in frame else [])
    version, _ = datasets.dataset_version_upload(
        actor=actor, dataset=dataset, upload=upload(csv_bytes(frame), "data.csv"), role=role, **fields
    )
    return version


def skops_with_untrusted_type() -> bytes:
    """A skops file naming a type outside every allow-list (here: a builtin function as a transformer)."""
    from sklearn.preprocessing import FunctionTransformer

    data = skops.io.dumps(FunctionTransformer(func=eval))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert json.loads(archive.read("schema.json"))
    return data


# ----------------------------------------------------- plans, finished plan runs and alerts, without running checks


def make_plan(actor, version, dataset, reference, *, checks=None, **fields):
    """A monitoring plan through the service (it validates the checks against the datasets)."""
    from monitoring.services import plans

    fields.setdefault("crontab", "0 6 * * *")
    return plans.monitoring_plan_create(
        actor=actor,
        version=version,
        dataset=dataset,
        reference=reference,
        checks=checks or [{"kind": "drift", "config": {"columns": ["age", "income"]}}],
        **fields,
    )


def _psi_status(value: float) -> tuple[str, float, str]:
    if value >= 0.25:
        return "fail", 0.25, "psi_fail"
    if value >= 0.1:
        return "warn", 0.25, "psi_fail"
    return "pass", 0.1, "psi_warn"


PSI_THRESHOLDS = {
    "psi_warn": {"value": 0.1, "source": "default"},
    "psi_fail": {"value": 0.25, "source": "default"},
}


def drift_run(plan, psi: dict[str, float], *, finished_at, p_values: dict[str, float] | None = None):
    """A succeeded drift run of ``plan`` with these PSI values (and KS p-values) per column, as a worker
    would have stored it: results, evaluations, digest and outcome (no data is read)."""
    from monitoring.checks.base import evaluation, outcome_of

    p_values = p_values or {}
    columns, evaluations, bars, distributions = [], [], [], []
    for name, value in psi.items():
        status, threshold, threshold_name = _psi_status(value)
        evaluations.append(
            evaluation(
                metric="psi",
                scope=f"column {name!r}",
                value=value,
                status=status,
                threshold=threshold,
                threshold_name=threshold_name,
                explanation=f"PSI of column {name!r} = {value:.4g}",
            )
        )
        p_value = p_values.get(name, 0.5)
        drifted = p_value < 0.05
        evaluations.append(
            evaluation(
                metric="drift_test:ks",
                scope=f"column {name!r}",
                value=p_value,
                status="warn" if drifted else "pass",
                threshold=0.05,
                threshold_name="ks threshold",
                explanation=f"KS on column {name!r}: p_value = {p_value:.3g}",
            )
        )
        edges = [10.0, 20.0, 30.0]
        reference_shares = [0.25, 0.25, 0.25, 0.25]
        current_shares = [0.1, 0.2, 0.3, 0.4]
        columns.append(
            {
                "column": name,
                "status": "tested",
                "drift_detected": drifted,
                "statistics": {
                    "psi": {
                        "value": value,
                        "band": {"pass": "stable", "warn": "moderate", "fail": "significant"}[status],
                        "bins": {
                            "edges": edges,
                            "reference_shares": reference_shares,
                            "current_shares": current_shares,
                        },
                    },
                    "ks": {"p_value": p_value, "statistic": 0.1},
                },
                "test": {
                    "name": "ks",
                    "label": "Kolmogorov-Smirnov test",
                    "score": p_value,
                    "score_name": "p_value",
                    "threshold": 0.05,
                },
            }
        )
        bars.append({"column": name, "psi": value, "band": columns[-1]["statistics"]["psi"]["band"]})
        distributions.append(
            {
                "column": name,
                "type": "histogram",
                "edges": edges,
                "reference_shares": reference_shares,
                "current_shares": current_shares,
            }
        )
    drifted = sum(1 for column in columns if column["drift_detected"])
    summary = {
        "dataset_drift": drifted / len(columns) >= 0.5,
        "share_of_drifted_columns": drifted / len(columns),
        "number_of_drifted_columns": drifted,
        "tested_columns": len(columns),
        "drift_share": 0.5,
    }
    results = {
        "format": "attest-check-results/1",
        "kind": "drift",
        "metrics": {"data_drift": {"columns": columns, "summary": summary}},
        "charts": {"psi_bars": bars, "distributions": distributions},
    }
    return _finished_run(plan, "drift", results, evaluations, PSI_THRESHOLDS, finished_at, outcome_of)


def performance_run(plan, *, roc_auc: float, accuracy: float, finished_at, roc_auc_min: float = 0.7):
    """A succeeded performance run: ROC AUC judged against ``roc_auc_min``, accuracy measured only."""
    from monitoring.checks.base import evaluation, outcome_of

    status = "pass" if roc_auc >= roc_auc_min else "fail"
    evaluations = [
        evaluation(
            metric="roc_auc",
            scope="current dataset",
            value=roc_auc,
            status=status,
            threshold=roc_auc_min,
            threshold_name="roc_auc_min",
            explanation=f"roc_auc of current dataset = {roc_auc:.4g}",
        )
    ]
    results = {
        "format": "attest-check-results/1",
        "kind": "performance",
        "metrics": {"performance": {"kind": "binary", "roc_auc": roc_auc, "accuracy": accuracy}},
        "charts": {},
    }
    thresholds = {"roc_auc_min": {"value": roc_auc_min, "source": "test"}}
    return _finished_run(plan, "performance", results, evaluations, thresholds, finished_at, outcome_of)


def fairness_run(plan, *, parity_ratio: float, opportunity_ratio: float, finished_at, ratio_min: float = 0.8):
    """A succeeded fairness run over ``sex``: the demographic-parity ratio judged against ``ratio_min``,
    the equal-opportunity ratio measured only."""
    from monitoring.checks.base import evaluation, outcome_of

    evaluations = [
        evaluation(
            metric="demographic_parity_ratio",
            scope="grouping sex",
            value=parity_ratio,
            status="pass" if parity_ratio >= ratio_min else "fail",
            threshold=ratio_min,
            threshold_name="demographic_parity_ratio_min",
            explanation=f"demographic_parity_ratio of grouping sex = {parity_ratio:.4g}",
        )
    ]
    aggregates = {
        "demographic_parity_ratio": {"value": parity_ratio, "reason": None},
        "equal_opportunity_ratio": {"value": opportunity_ratio, "reason": None},
        "equalized_odds_difference": {"value": None, "reason": "a group has no positives"},
    }
    results = {
        "format": "attest-check-results/1",
        "kind": "fairness",
        "metrics": {
            "fairness": {
                "min_group_size": 30,
                "positive_label": 1,
                "groupings": [{"features": ["sex"], "aggregates": aggregates}],
            }
        },
        "charts": {},
    }
    thresholds = {"demographic_parity_ratio_min": {"value": ratio_min, "source": "test"}}
    return _finished_run(plan, "fairness", results, evaluations, thresholds, finished_at, outcome_of)


def _finished_run(plan, kind, results, evaluations, thresholds, finished_at, outcome_of):
    import hashlib

    import rfc8785
    from django.db import transaction

    from monitoring.models import CheckRun, RunStatus
    from monitoring.services.alerts import alert_for_run

    outcome, reason = outcome_of(evaluations)
    version = plan.model_version
    with transaction.atomic():
        run = CheckRun.objects.create(
            kind=kind,
            model_version=version,
            reference_dataset=plan.reference_dataset,
            current_dataset=plan.reference_dataset,
            artifact_sha256=version.artifact_sha256,
            thresholds=thresholds,
            status=RunStatus.SUCCEEDED,
            results=results,
            result_sha256=hashlib.sha256(rfc8785.dumps(results)).hexdigest(),
            outcome=outcome,
            outcome_reason=reason,
            evaluations=evaluations,
            plan=plan,
            started_at=finished_at,
            finished_at=finished_at,
        )
        alert_for_run(run)
    return run
