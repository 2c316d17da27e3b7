"""seed_demo's registry part: a real model on the German credit data, with datasets and lineage."""

import pytest

from accounts.demo import seed_users
from registry.demo import seed_registry
from registry.models import DatasetVersion, ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_mode(settings, monkeypatch):
    from registry.services import datasets

    settings.ATTEST_DEMO = True
    settings.ATTEST_DEMO_PASSWORD = "demo-password-for-tests"
    monkeypatch.setattr(datasets, "_queue_profile", lambda version_id: None)


def test_it_seeds_credit_scoring_with_its_data_and_lineage_once(demo_mode, api):
    # seed_demo runs these two first, then the later features' demo steps (tested with those features)
    seed_users()
    assert seed_registry().startswith("Registered demo model credit-scoring v1")
    model = RegisteredModel.objects.get(name="credit-scoring")
    assert (model.team.name, model.owner.username, model.risk_tier) == ("credit-risk", "maya", 1)
    version = ModelVersion.objects.get(model=model)
    assert (version.version, version.artifact_format, version.artifact_executable) == (1, "skops", True)
    assert version.metrics["validation_auc"] > 0.7
    roles = dict(DatasetVersion.objects.values_list("dataset__name", "role"))
    assert roles == {
        "german-credit-train": "training",
        "german-credit-validation": "validation",
        "german-credit-production": "production_batch",
    }
    production = DatasetVersion.objects.get(role="production_batch")
    assert {"score", "prediction", "credit_risk", "age", "sex"} <= {c["name"] for c in production.schema}
    assert production.sensitive_columns == ["sex", "age", "foreign_worker"]
    maya = model.owner
    body = api.as_user(maya).get("/api/v1/models/credit-scoring/versions/1/").json()
    assert body["training_datasets"][0]["dataset"] == "german-credit-train"
    assert body["aliases"] == ["champion"]

    assert seed_registry() == "Demo model credit-scoring already registered."
    assert ModelVersion.objects.count() == 1
    assert DatasetVersion.objects.count() == 3


def test_it_over_represents_young_applicants_in_the_production_batch():
    from registry.demo import YOUNG_AGE, train

    frames, _, _ = train()
    young_share = {role: (frame["age"] < YOUNG_AGE).mean() for role, frame in frames.items()}
    assert young_share["production_batch"] > young_share["training"] + 0.2
