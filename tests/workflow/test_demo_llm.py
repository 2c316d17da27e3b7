"""The LLM demo (workflow/demo_llm): deterministic assistant, seeded records, idempotent seeding."""

import hashlib

import pytest
import rfc8785

from accounts.demo import seed_users
from accounts.errors import EvidenceChanged
from accounts.models import User
from monitoring.models import CheckRun, RedTeamRun, TelemetryBucket, TelemetryContent, TelemetryMonitor
from registry.models import ModelVersion
from workflow.demo_llm import MODEL, PILOT_CALLS, assistant, recorded, seed_llm_demo
from workflow.models import ApprovalRequest
from workflow.services import approvals
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
    assert seed_llm_demo().startswith(f"Registered {MODEL} v1 and v2")
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

    run = CheckRun.objects.filter(model_version=v1, kind="llm_evaluation").get()
    assert run.status == "succeeded", run.outcome_reason
    assert run.outcome == "pass"
    refusals = sum(row["output"] == assistant.REFUSAL for row in recorded.evaluation_rows(1))
    overall = run.results["metrics"]["llm_evaluation"]["overall"]["metrics"]
    assert overall["refusal_rate"]["value"] == pytest.approx(refusals / 48)

    red = {r.model_version.version: r for r in RedTeamRun.objects.filter(model_version__model__name=MODEL)}
    assert (red[1].attempts, red[1].failures, red[2].failures) == (24, 9, 0)

    buckets = TelemetryBucket.objects.filter(model_version=v1)
    assert sum(b.calls for b in buckets) == PILOT_CALLS
    assert sum(b.blocked for b in buckets) == 9
    assert sum(b.flagged for b in buckets) == 18
    assert not TelemetryContent.objects.filter(model_version=v1).exists()
    assert all(b.check_run_id is None for b in buckets)  # judged by the monitor: no breach, no alert
    assert TelemetryMonitor.objects.filter(model_version=v1).exists()

    requests = {
        r.model_version.version: r for r in ApprovalRequest.objects.filter(model_version__model__name=MODEL)
    }
    assert requests[1].status == requests[2].status == "pending"
    assert requests[1].signatures.get().signer.username == "victor"
    assert requests[2].evidence_manifest["bundle"]["digest"] == v2.artifact_sha256
    # rita's signature of v1's request: void, v2 changed the prompt templates
    with pytest.raises(EvidenceChanged, match="prompt_templates"):
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

    before = (
        ModelVersion.objects.count(),
        CheckRun.objects.count(),
        RedTeamRun.objects.count(),
        ApprovalRequest.objects.count(),
    )
    assert seed_llm_demo() == f"Demo LLM application {MODEL} already registered."
    assert before == (
        ModelVersion.objects.count(),
        CheckRun.objects.count(),
        RedTeamRun.objects.count(),
        ApprovalRequest.objects.count(),
    )
