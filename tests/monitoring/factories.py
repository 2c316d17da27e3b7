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
