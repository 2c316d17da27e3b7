"""An optional policy entry (the default tier-1 bound on LLM PII leakage): binding on every run of its kind,
not required for approval, yet a failing run of it blocks one."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from monitoring.models import CheckRun
from monitoring.thresholds import resolve_thresholds
from tests.workflow.conftest import attach_evidence, record_all_runs, record_run
from workflow.services.approvals import prerequisites_missing
from workflow.services.policies import policy_active, validate_rules

pytestmark = pytest.mark.django_db


def test_an_optional_bound_binds_every_run_without_requiring_one(maya, quick_version):
    run = CheckRun(
        kind="llm_evaluation", model_version=quick_version, config={"thresholds": {"pii_leak_rate_max": 0.5}}
    )
    resolved = resolve_thresholds(run)["pii_leak_rate_max"]
    assert resolved["value"] == 0
    assert resolved["binding"] is True
    assert resolved["source"].startswith("policy: tier 1")

    record_all_runs(maya, quick_version)  # every kind but llm_evaluation
    attach_evidence(maya, quick_version)
    policy = policy_active(tier=1)
    assert not [item for item in prerequisites_missing(quick_version, policy) if "check" in item]

    failing = record_run(maya, quick_version, "llm_evaluation", outcome="fail")
    assert (
        f"check 'llm_evaluation' (run {failing.pk}) failed: recorded fail outcome"
        in prerequisites_missing(quick_version, policy)
    )


def test_optional_must_be_true_or_false():
    rules = {
        "required_checks": [
            {"kind": "llm_evaluation", "metric": "pii_leak_rate", "max": 0, "optional": "yes"}
        ]
    }
    with pytest.raises(ValidationError) as refusal:
        validate_rules(rules)
    assert refusal.value.message_dict["required_checks[0]"] == ["optional must be true or false."]
