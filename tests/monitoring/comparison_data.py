"""Two versions of a model with succeeded check runs of every compared kind, written straight to the database
(tests/factories/records.py), for the comparison tests (API, page and browser journey)."""

from __future__ import annotations

from dataclasses import dataclass

from monitoring.models import CheckRun
from registry.models import DatasetVersion, LineageEdge, ModelVersion, RegisteredModel
from registry.models.lineage import EdgeKind
from tests.factories.records import (
    CheckRunFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ModelAliasFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    digest,
)

SCHEMA = [
    {"name": "age", "type": "float"},
    {"name": "income", "type": "float"},
    {"name": "label", "type": "int"},
]


@dataclass
class Compared:
    model: RegisteredModel
    v1: ModelVersion
    v2: ModelVersion
    reference: DatasetVersion
    other_reference: DatasetVersion
    runs: dict[str, CheckRun]


def _run(version, kind: str, results: dict, *, reference=None, current=None) -> CheckRun:
    return CheckRunFactory(
        model_version=version,
        kind=kind,
        status="succeeded",
        outcome="pass",
        result_sha256=digest(id(results)),
        results={"format": "attest-check-results/1", "kind": kind, **results},
        reference_dataset=reference,
        current_dataset=current,
    )


def _drift(psi: dict[str, float], drifted: int) -> dict:
    columns = [
        {
            "column": name,
            "status": "tested",
            "drift_detected": value >= 0.2,
            "statistics": {"psi": {"value": value}},
        }
        for name, value in psi.items()
    ]
    summary = {"share_of_drifted_columns": drifted / len(psi), "number_of_drifted_columns": drifted}
    return {
        "metrics": {"data_drift": {"columns": columns, "summary": summary | {"tested_columns": len(psi)}}}
    }


def _fairness(ratio: float, rates: tuple[float, float]) -> dict:
    aggregates = {"demographic_parity_ratio": {"value": ratio}, "equalized_odds_difference": {"value": 0.1}}
    groups = [
        {"label": "f", "count": 100, "selection_rate": rates[0]},
        {"label": "m", "count": 120, "selection_rate": rates[1]},
    ]
    return {
        "metrics": {"fairness": {"groupings": [{"features": ["sex"], "aggregates": aggregates}]}},
        "charts": {"group_bars": [{"features": ["sex"], "groups": groups}]},
    }


def _shap(importance: dict[str, float]) -> dict:
    items = [{"feature": name, "mean_abs_shap": value} for name, value in importance.items()]
    return {"metrics": {"explanation": {"global_importance": items}}}


def seed(owner, team, name: str = "credit-compare") -> Compared:
    """v1 (champion) and v2 (challenger): v2's ROC AUC is lower (worse) and its RMSE-free metrics mixed; both
    drift-checked against the same reference (v2 also, more recently, against another one)."""
    model = RegisteredModelFactory(name=name, owner=owner, team=team)
    v1 = ModelVersionFactory(
        model=model,
        version=1,
        framework="sklearn",
        parameters={"C": 1.0, "penalty": "l2"},
        metrics={"roc_auc": 0.81, "log_loss": 0.42},
    )
    v2 = ModelVersionFactory(
        model=model,
        version=2,
        framework="sklearn",
        artifact_size=99,
        parameters={"C": 0.5, "max_iter": 200},
        metrics={"roc_auc": 0.84, "log_loss": 0.40},
    )
    ModelAliasFactory(model=model, name="champion", version=v1)
    ModelAliasFactory(model=model, name="challenger", version=v2)
    data = DatasetFactory(name=f"{name}-data", owner=owner, team=team)
    train1 = DatasetVersionFactory(dataset=data, version=1, role="training", row_count=1000, schema=SCHEMA)
    train2 = DatasetVersionFactory(
        dataset=data,
        version=2,
        role="training",
        row_count=1200,
        schema=[*SCHEMA, {"name": "region", "type": "str"}],
    )
    reference = DatasetVersionFactory(dataset=data, version=3, role="reference", row_count=500, schema=SCHEMA)
    other_reference = DatasetVersionFactory(
        dataset=data, version=4, role="reference", row_count=500, schema=SCHEMA
    )
    current = DatasetVersionFactory(dataset=data, version=5, role="validation", row_count=300, schema=SCHEMA)
    for version, dataset in ((v1, train1), (v2, train2)):
        LineageEdge.objects.create(kind=EdgeKind.TRAINED_ON, src_dataset=dataset, dst_version=version)
    runs = {
        "perf_a": _run(
            v1,
            "performance",
            {"metrics": {"performance": {"kind": "binary", "roc_auc": 0.8, "accuracy": 0.7}}},
            current=current,
        ),
        "perf_b": _run(
            v2,
            "performance",
            {"metrics": {"performance": {"kind": "binary", "roc_auc": 0.75, "accuracy": 0.74}}},
            current=current,
        ),
        "drift_a": _run(
            v1, "drift", _drift({"age": 0.05, "income": 0.3}, 1), reference=reference, current=current
        ),
        "drift_b": _run(
            v2, "drift", _drift({"age": 0.25, "income": 0.1}, 1), reference=reference, current=current
        ),
        # newer, but against another reference: never compared with v1's run
        "drift_b_other": _run(
            v2, "drift", _drift({"age": 0.9, "income": 0.9}, 2), reference=other_reference, current=current
        ),
        "fair_a": _run(v1, "fairness", _fairness(0.9, (0.5, 0.55)), current=current),
        "fair_b": _run(v2, "fairness", _fairness(0.7, (0.4, 0.57)), current=current),
        "shap_a": _run(
            v1, "explainability", _shap({"income": 0.5, "age": 0.3, "region": 0.1}), current=current
        ),
        "shap_b": _run(
            v2, "explainability", _shap({"age": 0.6, "income": 0.2, "sex": 0.05}), current=current
        ),
    }
    return Compared(model, v1, v2, reference, other_reference, runs)
