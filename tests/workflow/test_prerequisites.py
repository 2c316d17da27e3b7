"""What an approval request needs before it is accepted: checks, passing results, evidence, no blockers."""

import pytest

from tests.monitoring import factories
from tests.workflow.conftest import CHECK_KINDS, TIER1_EVIDENCE, attach_evidence, record_run, to_validation
from tests.workflow.helpers import error, events, policy_version, request_approval
from workflow.models import ApprovalRequest, ApprovalStatus
from workflow.services import findings as finding_services

pytestmark = pytest.mark.django_db


def refused_with(response) -> list[str]:
    assert response.status_code == 409, response.json()
    assert error(response)["code"] == "prerequisites_missing"
    assert not ApprovalRequest.objects.exists()
    return error(response)["details"]["missing"]


def test_it_lists_every_missing_check_and_document(api, maya, quick_version):
    """GIVEN a tier-1 version with no check runs and no evidence
    WHEN maya requests production approval
    THEN it is refused with 409 listing the five checks and three documents, and the refusal is audited."""
    missing = refused_with(request_approval(api, maya, quick_version))

    assert missing == [f"check '{kind}' has no successful run for this version" for kind in CHECK_KINDS] + [
        f"evidence '{kind}' has not been attached" for kind in TIER1_EVIDENCE
    ]
    (refusal,) = events("approval.refused")
    assert refusal.actor_username == "maya"
    assert refusal.after["missing"] == missing


def test_it_refuses_a_failing_check(api, maya, quick_ready_version):
    """GIVEN a ready version whose latest fairness run failed
    WHEN an approval is requested
    THEN the failing run is the only thing listed."""
    failed = record_run(maya, quick_ready_version, "fairness", outcome="fail")

    missing = refused_with(request_approval(api, maya, quick_ready_version))

    assert missing == [f"check 'fairness' (run {failed.pk}) failed: recorded fail outcome"]


def test_it_accepts_a_warning_as_a_passing_result(api, maya, quick_ready_version):
    """GIVEN a ready version whose latest data-quality run warned
    WHEN an approval is requested
    THEN it is accepted: a warning is not a failure."""
    record_run(maya, quick_ready_version, "data_quality", outcome="warn")

    assert request_approval(api, maya, quick_ready_version).status_code == 201


def test_it_names_the_missing_document(api, maya, quick_version):
    """GIVEN every check passed but the data review is not attached
    WHEN an approval is requested
    THEN only the data review is listed."""
    for kind in CHECK_KINDS:
        record_run(maya, quick_version, kind)
    attach_evidence(maya, quick_version, kinds=("conceptual_soundness_memo", "model_documentation"))

    missing = refused_with(request_approval(api, maya, quick_version))

    assert missing == ["evidence 'data_review' has not been attached"]


def test_it_refuses_while_a_blocking_finding_is_open(api, maya, victor, quick_ready_version):
    """GIVEN an open high-severity finding (tier 1 blocks at high) and an open medium one
    WHEN an approval is requested
    THEN the high finding alone is listed; once it is remediated the request is accepted."""
    model = quick_ready_version.model
    high = finding_services.finding_raise(actor=victor, model=model, severity="high", title="Unstable bins")
    finding_services.finding_raise(actor=victor, model=model, severity="medium", title="Typo in memo")

    missing = refused_with(request_approval(api, maya, quick_ready_version))

    assert missing == [f"finding {high.pk} (high) is open: Unstable bins"]
    finding_services.finding_change_status(
        actor=maya, finding=high, status="remediated", resolution="Rebinned."
    )
    assert request_approval(api, maya, quick_ready_version).status_code == 201


def test_it_refuses_runs_judged_with_looser_thresholds_than_the_policy(api, maya, quick_ready_version):
    """GIVEN runs judged under policy v1 (ROC AUC at least 0.7), then a v2 that asks for 0.75
    WHEN an approval is requested
    THEN the performance run is refused as judged too leniently; a run judged under v2 is accepted."""
    policy_version(
        required_checks=[
            {"kind": "performance", "metric": "roc_auc", "min": 0.75},
            {"kind": "drift", "metric": "psi", "max": 0.25},
        ]
    )
    old = quick_ready_version.check_runs.get(kind="performance")

    missing = refused_with(request_approval(api, maya, quick_ready_version))

    assert missing == [
        f"check 'performance' (run {old.pk}) was judged with roc_auc_min=0.7, not the policy's 0.75: run it again"
    ]
    rerun = record_run(maya, quick_ready_version, "performance")
    assert rerun.thresholds["roc_auc_min"]["value"] == 0.75
    created = request_approval(api, maya, quick_ready_version)
    assert created.status_code == 201, created.json()
    assert created.json()["policy"]["version"] == 2


def test_it_refuses_a_second_pending_request_for_the_same_environment(api, maya, quick_ready_version):
    """GIVEN a pending production request
    WHEN maya asks again for production, then for staging
    THEN the second production request is refused with 409 and the staging one is accepted."""
    assert request_approval(api, maya, quick_ready_version).status_code == 201

    again = request_approval(api, maya, quick_ready_version)

    assert again.status_code == 409
    assert error(again)["code"] == "request_closed"
    assert list(error(again)["fields"]) == ["environment"]
    assert request_approval(api, maya, quick_ready_version, "staging").status_code == 201
    assert ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).count() == 2


def test_it_refuses_an_environment_the_policy_does_not_gate(api, maya, credit_risk):
    """GIVEN a tier-3 model, whose policy gates production only
    WHEN an approval for staging is requested
    THEN it is refused with 400 environment_not_gated: staging needs no approval."""
    model = to_validation(maya, factories.make_model(maya, credit_risk, name="marketing-uplift"))
    version = factories.skops_version(maya, model)
    assert model.risk_tier == 3

    response = request_approval(api, maya, version, "staging")

    assert response.status_code == 400
    assert error(response)["code"] == "environment_not_gated"
    assert list(error(response)["fields"]) == ["environment"]
