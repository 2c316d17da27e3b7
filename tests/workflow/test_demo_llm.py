"""The LLM demo (workflow/demo_llm): deterministic assistant, seeded records, idempotent seeding."""

import hashlib

import pytest
import rfc8785

from accounts.demo import seed_users
from accounts.errors import EvidenceChanged
from accounts.models import User
from audit.models import AuditEvent
from monitoring.models import (
    CheckRun,
    MonitoringAlert,
    RedTeamRun,
    TelemetryBucket,
    TelemetryContent,
    TelemetryMonitor,
)
from registry.models import ModelVersion
from workflow.demo_llm import MODEL, TELEMETRY_MONITOR, TRAFFIC_CALLS, assistant, recorded, seed_llm_demo
from workflow.models import ApprovalRequest, Deployment, Finding
from workflow.services import approvals, gate
from workflow.services.approvals import SignatureInput


def test_the_assistant_is_deterministic_and_refuses_out_of_scope():
    assert recorded.evaluation_csv(1) == recorded.evaluation_csv(1)
    assert recorded.garak_report(2) == recorded.garak_report(2)
    assert assistant.answer("What is the capital of Australia?", version=1).output == assistant.REFUSAL
    reply = assistant.answer("Which documents are required for a loan application?", version=2)
    assert reply.topic == "documents"
    assert reply.output.endswith("(Lending policy, section 3.1.)")
    assert len(recorded.QUESTIONS) == 48
    assert sum(len(p) for _, p in recorded.PROBES.values()) == 24


@pytest.mark.django_db
def test_seed_creates_the_llm_story_once(settings):
    settings.ATTEST_DEMO = True
    seed_users()
    # the default tier-2 policy's LLM track (llm_evaluation, the memo) admits it as shipped
    message = seed_llm_demo()
    assert message.startswith(f"Registered {MODEL} v1 and v2")
    v1, v2 = ModelVersion.objects.filter(model__name=MODEL).order_by("version")
    assert v1.model.kind == "llm_application"
    for version in (v1, v2):
        digests = {
            name: hashlib.sha256(rfc8785.dumps(part)).hexdigest()
            for name, part in version.bundle["components"].items()
        }
        assert digests == version.bundle["component_digests"]
        assert hashlib.sha256(rfc8785.dumps(digests)).hexdigest() == version.artifact_sha256
    changed = [
        n
        for n in v1.bundle["component_digests"]
        if v1.bundle["component_digests"][n] != v2.bundle["component_digests"][n]
    ]
    assert changed == ["prompt_templates"]
    assert v1.artifact_sha256 != v2.artifact_sha256
    # the corpus it retrieves from: every policy passage, by the SHA-256 of its text
    corpus = v2.bundle["components"]["retrieval_corpus"]["manifest"]
    assert [item["sha256"] for item in corpus] == [
        hashlib.sha256(text.encode()).hexdigest() for _, _, text in assistant.POLICIES
    ]

    run = CheckRun.objects.filter(model_version=v1, kind="llm_evaluation").get()
    assert run.status == "succeeded", run.outcome_reason
    assert run.outcome == "pass"
    refusals = sum(row["output"] == assistant.REFUSAL for row in recorded.evaluation_rows(1))
    overall = run.results["metrics"]["llm_evaluation"]["overall"]["metrics"]
    assert overall["refusal_rate"]["value"] == pytest.approx(refusals / 48)

    red = {r.model_version.version: r for r in RedTeamRun.objects.filter(model_version__model__name=MODEL)}
    assert (red[1].attempts, red[1].failures, red[2].failures) == (24, 9, 0)

    buckets = TelemetryBucket.objects.filter(model_version=v1)
    assert sum(b.calls for b in buckets) == TRAFFIC_CALLS
    assert sum(b.blocked for b in buckets) == 9
    assert sum(b.flagged for b in buckets) == 18
    assert not TelemetryContent.objects.filter(model_version=v1).exists()
    assert all(b.check_run_id is None for b in buckets)  # judged by the monitor: no breach, no alert
    assert TelemetryMonitor.objects.filter(model_version=v1).exists()

    requests = {
        r.model_version.version: r for r in ApprovalRequest.objects.filter(model_version__model__name=MODEL)
    }
    assert requests[1].status == "pending"
    assert requests[1].signatures.get().signer.username == "victor"
    assert requests[2].evidence_manifest["bundle"]["digest"] == v2.artifact_sha256
    assert_v2_released_and_put_under_review(message, v1, v2, requests[2])

    # rita's signature of v1's request: void, v2 changed the prompt templates (the model being under
    # review does not stop a signature: the superseded request is what she is told about)
    # and is pointed at v2's own request, not told to ask for one
    own = f"v2 has its own request, approval #{requests[2].pk} \\(approved\\)"
    with pytest.raises(EvidenceChanged, match=f"prompt_templates.*{own}"):
        approvals.approval_sign(
            actor=User.objects.get(username="rita"),
            request=requests[1],
            signing=SignatureInput(
                decision="approve", meaning="approval", password=settings.ATTEST_DEMO_PASSWORD, comment="ok"
            ),
        )
    requests[1].refresh_from_db()
    assert requests[1].status == "invalidated"
    assert "v2" in requests[1].outcome_reason

    def counts():
        return [model.objects.count() for model in (ModelVersion, CheckRun, RedTeamRun, ApprovalRequest)] + [
            model.objects.count() for model in (Deployment, MonitoringAlert, Finding, TelemetryBucket)
        ]

    before = counts()
    assert seed_llm_demo() == f"Demo LLM application {MODEL} already registered."
    assert before == counts()


def assert_v2_released_and_put_under_review(message, v1, v2, request):
    """v2 went through the credit model's gate: two signatures, a deployment of the approved digest,
    production telemetry whose breach became a finding that put the application under review."""
    assert request.status == "approved"
    signatures = list(request.signatures.order_by("signed_at"))
    assert [(s.signer.username, s.stage_key, s.meaning) for s in signatures] == [
        ("victor", "validation", "review"),
        ("rita", "risk", "approval"),
    ]
    assert all(
        approvals.verify_signature(s) and s.evidence_digest == request.evidence_digest for s in signatures
    )

    deployment = Deployment.objects.get(model_version__model__name=MODEL)
    assert (deployment.model_version, deployment.environment, deployment.approval) == (
        v2,
        "production",
        request,
    )
    assert (deployment.deployed_by.username, deployment.status) == ("maya", "active")
    assert deployment.shipped_digest == v2.artifact_sha256

    # one minute of production traffic breached: the prompt-injection campaign's block rate
    production = TelemetryBucket.objects.filter(model_version=v2)
    assert sum(b.calls for b in production) == TRAFFIC_CALLS
    breached = production.exclude(check_run=None).get()
    assert breached.calls == 30
    assert breached.blocked / breached.calls > TELEMETRY_MONITOR["max_block_rate"]
    alert = MonitoringAlert.objects.get(check_run__model_version__model__name=MODEL)
    assert (alert.check_run, alert.severity) == (breached.check_run, "critical")
    assert "guardrail block rate" in alert.title
    finding = Finding.objects.get(model__name=MODEL)  # one finding for the breach, through its alert
    assert (finding.model_version, finding.source, finding.severity, finding.status) == (
        v2,
        "monitoring",
        "critical",
        "open",
    )
    assert finding.dedupe_key == f"alert:{alert.pk}"

    # the tier-2 policy puts a model in production under review on a critical finding: the gate closes
    v2.model.refresh_from_db()
    assert (v2.model.risk_tier, v2.model.status) == (2, "under_review")
    decision = gate.gate_evaluate(version=v2, environment="production")
    assert not decision.allowed
    assert {"model_under_review", "blocking_finding"} <= set(decision.codes)
    assert decision.approval == request
    assert f"telemetry alert #{alert.pk} ({alert.title}) → finding #{finding.pk} (critical)" in message
    assert f"{MODEL} is under review, the production gate refuses v2: the model is under review" in message
    assert not gate.gate_evaluate(version=v1, environment="production").allowed

    statuses = AuditEvent.objects.filter(action="model.status_changed", object_id=str(v2.model.pk))
    assert [e.after["status"] for e in statuses.order_by("seq")][-3:] == [
        "approved",
        "in_production",
        "under_review",
    ]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "approval.requested",
        "approval.signed",
        "approval.stage_completed",
        "approval.approved",
        "deployment.recorded",
        "monitoring.telemetry_monitor_set",
        "monitoring.alert_raised",
        "finding.raised",
        "model.status_changed",
    } <= actions
    for action, obj in (
        ("approval.approved", request),
        ("deployment.recorded", deployment),
        ("monitoring.alert_raised", alert),
        ("finding.raised", finding),
    ):
        assert AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).exists(), action
