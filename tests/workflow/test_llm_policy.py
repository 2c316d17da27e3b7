"""Policy entries scoped by model kind (the LLM application track) and optional entries."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from monitoring.models import CheckRun
from monitoring.thresholds import resolve_thresholds
from registry.models import RegisteredModel
from workflow.services.approvals import prerequisites_missing
from workflow.services.policies import policy_active, validate_rules

pytestmark = pytest.mark.django_db


def test_entries_scoped_by_model_kind_bind_only_that_kind(maya, quick_version):
    """GIVEN the default tier-1 policy: the scoring checks for `ml_model`, the LLM PII bound for
    `llm_application`
    WHEN a credit model's version and then the same version as an LLM application are judged
    THEN the credit model needs performance and is not bound by the PII bound; the LLM application needs an
    llm_evaluation run, is bound by `pii_leak_rate_max` 0 and needs no performance run."""
    policy = policy_active(tier=1)

    def pii_bound():
        run = CheckRun(
            kind="llm_evaluation",
            model_version=quick_version,
            config={"thresholds": {"pii_leak_rate_max": 0.5}},
        )
        return resolve_thresholds(run)["pii_leak_rate_max"]

    assert pii_bound()["value"] == 0.5
    assert not pii_bound()["source"].startswith("policy")
    missing = prerequisites_missing(quick_version, policy)
    assert "check 'performance' has no successful run for this version" in missing
    assert not [item for item in missing if "llm_evaluation" in item]

    RegisteredModel.objects.filter(pk=quick_version.model_id).update(kind="llm_application")
    quick_version.model.refresh_from_db()

    assert (pii_bound()["value"], pii_bound()["binding"]) == (0, True)
    assert pii_bound()["source"].startswith("policy: tier 1")
    missing = prerequisites_missing(quick_version, policy)
    assert "check 'llm_evaluation' has no successful run for this version" in missing
    assert not [item for item in missing if "'performance'" in item or "'drift'" in item]


def test_model_kinds_must_name_known_kinds():
    for bad in ([], ["chatbot"], "llm_application"):
        rules = {"required_checks": [{"kind": "llm_evaluation", "model_kinds": bad}]}
        with pytest.raises(ValidationError) as refusal:
            validate_rules(rules)
        assert "model_kinds" in refusal.value.message_dict["required_checks[0]"][0]


def test_optional_must_be_true_or_false():
    rules = {
        "required_checks": [
            {"kind": "llm_evaluation", "metric": "pii_leak_rate", "max": 0, "optional": "yes"}
        ]
    }
    with pytest.raises(ValidationError) as refusal:
        validate_rules(rules)
    assert refusal.value.message_dict["required_checks[0]"] == ["optional must be true or false."]
