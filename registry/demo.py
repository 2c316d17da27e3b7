"""Demo inventory for `make run`: the German credit data, a real scikit-learn model and its lineage.

``seed_registry`` trains a gradient-boosting pipeline on ``data/german-credit/german_credit.csv`` (on the
labels 'good'/'bad' themselves, so its ``classes_`` name them), saves it with skops (no pickle), and
registers it as ``credit-scoring`` v1 for team ``credit-risk`` with its training and validation datasets
and a shifted production batch (applicants under 30 over-represented) for drift checks. The model and the
datasets declare 'good' (credit granted) as the favourable outcome; the datasets' ``score`` is P(bad). Everything goes through the registry services, so the demo has a complete audit trail.
Idempotent: once ``credit-scoring`` has a version, nothing is created again.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import Team, User
from audit import record
from registry import storage
from registry.models import Dataset, RegisteredModel
from registry.services import datasets, inventory, versions

DATA_DIR = Path(settings.BASE_DIR) / "data" / "german-credit"
SOURCE_CSV = DATA_DIR / "german_credit.csv"
TARGET = "credit_risk"
SENSITIVE = ["sex", "age", "foreign_worker"]
SEED = 20240611
YOUNG_AGE = 30
PRODUCTION_ROWS = 1000
PRODUCTION_YOUNG_SHARE = 0.6
MODEL_NAME = "credit-scoring"
MODEL_FIELDS: dict[str, Any] = {
    "title": "Retail credit scoring",
    "description": "Probability that a retail loan applicant will not repay (German credit data).",
    "purpose": "Rank consumer-credit applicants by default risk for the lending decision.",
    "intended_use": "Decision support for credit officers on consumer loans up to 20,000 DM.",
    "out_of_scope_use": "Business lending, pricing, collections; automated refusal without review.",
    "limitations": "Trained on 1,000 historical applications from 1994; sex and age are present in the data.",
    "business_line": "Retail lending",
    "deployment_context": "Called by the loan-origination system; a credit officer sees the score.",
    "affected_persons": "Consumer-credit applicants.",
    "tier_answers": {
        "materiality": "high",
        "complexity": "medium",
        "reliance": "high",
        "regulatory_exposure": "high",
    },
    "eu_ai_act_category": "high_risk",  # Annex III 5(b): creditworthiness of natural persons
    "tags": {"domain": "credit", "data": "german-credit"},
    # credit granted is the outcome that is good for the applicant; checks read this unless told otherwise
    "favourable_label": "good",
}
FAVOURABLE = "good"
SCORED = "bad"  # the demo score is the probability of default, as a credit officer reads it


def seed_registry() -> str:
    """Create the demo model, datasets and lineage unless they exist; returns what happened."""
    if not settings.ATTEST_DEMO:
        raise RuntimeError("demo data is created only in demo mode (ATTEST_DEMO=1, set by `make run`)")
    existing = RegisteredModel.objects.filter(name=MODEL_NAME).first()
    if existing is not None and existing.versions.exists():
        return f"Demo model {MODEL_NAME} already registered."
    maya = User.objects.get(username="maya")
    team = Team.objects.get(name="credit-risk")
    frames, pipeline, metrics = train()
    dataset_versions = {role: _dataset_version(maya, team, role, frame) for role, frame in frames.items()}
    model = existing or inventory.model_create(actor=maya, team=team, name=MODEL_NAME, **MODEL_FIELDS)
    version = _register_version(maya, model, pipeline, metrics, dataset_versions)
    versions.model_alias_set(actor=maya, model=model, alias="champion", version=version)
    with transaction.atomic():
        record(
            action="system.demo_seeded",
            actor=None,
            obj=model,
            after={"model": MODEL_NAME, "version": version.version},
        )
    return f"Registered demo model {MODEL_NAME} v{version.version} with training, validation and production data."


def train() -> tuple[dict[str, Any], Any, dict[str, float]]:
    """Split, fit and score: returns the three frames (with score/prediction), the pipeline, its metrics."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    data = pd.read_csv(SOURCE_CSV)
    training, validation = train_test_split(data, test_size=0.3, stratify=data[TARGET], random_state=SEED)
    pipeline = _pipeline(data.drop(columns=[TARGET]))
    # fitted on the labels themselves, so classes_ names them ('bad', 'good') and checks can map each
    # predict_proba column to its label
    pipeline.fit(training.drop(columns=[TARGET]), training[TARGET])
    rng = np.random.default_rng(SEED)
    young = data[data["age"] < YOUNG_AGE]
    older = data[data["age"] >= YOUNG_AGE]
    n_young = int(PRODUCTION_ROWS * PRODUCTION_YOUNG_SHARE)
    production = pd.concat(
        [
            young.sample(n_young, replace=True, random_state=int(rng.integers(1 << 31))),
            older.sample(PRODUCTION_ROWS - n_young, replace=True, random_state=int(rng.integers(1 << 31))),
        ]
    ).sample(frac=1.0, random_state=SEED)
    frames = {
        "training": _scored(pipeline, training),
        "validation": _scored(pipeline, validation),
        "production_batch": _scored(pipeline, production),
    }
    auc = roc_auc_score(validation[TARGET] == SCORED, frames["validation"]["score"])
    return frames, pipeline, {"validation_auc": round(float(auc), 6)}


def _pipeline(features):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = [c for c in features.columns if not str(features[c].dtype).startswith(("int", "float"))]
    encode = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)], remainder="passthrough"
    )
    model = GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.05, random_state=SEED)
    return Pipeline([("encode", encode), ("model", model)])


def _scored(pipeline, frame):
    """``score`` = P(bad), the column of predict_proba that classes_ names 'bad'; ``prediction`` its label."""
    scored = frame.reset_index(drop=True).copy()
    column = list(pipeline.classes_).index(SCORED)
    scored["score"] = pipeline.predict_proba(scored.drop(columns=[TARGET]))[:, column].round(6)
    scored["prediction"] = [SCORED if s >= 0.5 else FAVOURABLE for s in scored["score"]]
    return scored


DATASETS = {
    "training": ("german-credit-train", "German credit: training split (70 %)"),
    "validation": ("german-credit-validation", "German credit: validation split (30 %)"),
    "production_batch": (
        "german-credit-production",
        "German credit: production batch, young applicants over-represented",
    ),
}


def _dataset_version(actor: User, team: Team, role: str, frame):
    name, title = DATASETS[role]
    dataset = Dataset.objects.filter(name=name).first() or datasets.dataset_create(
        actor=actor,
        team=team,
        name=name,
        title=title,
        description=f"Derived from {SOURCE_CSV.name}; see data/german-credit/README.md.",
    )
    content = frame.to_csv(index=False).encode("utf-8")
    version, _ = datasets.dataset_version_upload(
        actor=actor,
        dataset=dataset,
        upload=storage.upload_from_file(io.BytesIO(content), f"{name}.csv"),
        role=role,
        target_column=TARGET,
        prediction_column="prediction",
        sensitive_columns=SENSITIVE,
        favourable_label=FAVOURABLE,
        description=title,
    )
    return version


def _register_version(actor: User, model: RegisteredModel, pipeline, metrics: dict, dataset_versions: dict):
    import sklearn
    import skops.io

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "credit-scoring.skops"
        skops.io.dump(pipeline, path)
        with path.open("rb") as artifact:
            metadata = versions.VersionMetadata(
                description="Gradient boosting on one-hot encoded applicant attributes.",
                framework="scikit-learn",
                framework_version=sklearn.__version__,
                source="registry/demo.py",
                tags={"trained_by": "seed_demo"},
                parameters={"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05, "random_state": SEED},
                metrics=metrics,
                signature=_signature(dataset_versions["training"]),
                training_datasets=[dataset_versions["training"]],
                validation_datasets=[dataset_versions["validation"]],
            )
            upload = storage.upload_from_file(artifact, path.name)
            version, _ = versions.model_version_submit(
                actor=actor, model=model, upload=upload, metadata=metadata
            )
    return version


def _signature(training_version) -> dict[str, Any]:
    excluded = {TARGET, "score", "prediction"}
    inputs = [
        {"name": c["name"], "type": c["type"]} for c in training_version.schema if c["name"] not in excluded
    ]
    return {"inputs": inputs, "outputs": [{"name": "score", "type": "double"}]}
