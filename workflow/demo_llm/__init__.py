"""The LLM demo for `make run`: `loan-assistant`, an LLM application governed like the credit model.

``seed_llm_demo`` registers ``loan-assistant`` (team credit-risk, owner maya) with two bundle versions that
differ only in the answer prompt template (``assistant.ANSWER_TEMPLATES``), records the evaluation set
of v1 and v2 (``recorded.evaluation_csv``) as dataset versions and runs the ``llm_evaluation`` check on
each, imports a garak report of the built-in probe set run against each version, feeds v1's simulated
pilot traffic of the day before (content-free OTLP log records) through the OTLP intake service, and asks
for production approvals. v1's request, signed by victor, waits for rita; then the red-team findings (v1
repeats injected text and card numbers back) lead to a prompt change, registered as v2. v1's request
stays pending, but it is void: when rita signs it, the approval service answers that v2 changed the
bundle's prompt_templates and invalidates the request (the tour's step).

v2 then goes through the credit model's gate: victor signs its request's validation stage (review), rita
its risk stage (approval), so the request is approved; maya records the deployment to production with
the bundle digest she ships, which the gate checks. Then ten minutes of v2's production traffic (dated
up to the seed's minute: the records are all made within seconds) are judged per minute by the same
telemetry monitor: in one minute a prompt-injection campaign sends every other
call, the guardrail blocks half the calls, and the block rate breaches the monitor's maximum. The alert
becomes a critical finding through the findings sweep, as the periodic task does; the tier-2 policy puts
a model in production under review on a critical finding, which closes the gate for v2. The seed's
message says what the gate answers at the end, from ``gate_evaluate``.

Approvals are asked through the policy of the model's tier, whose LLM application track
(`model_kinds: ["llm_application"]` entries in workflow/data/policies.json) asks for a passing
llm_evaluation run instead of the scoring checks; if a request is refused anyway, the seed says which
prerequisites are missing. Everything goes through the services. Idempotent: once the model has a version, nothing
is created again. Costs a few seconds (no model weights, no training).
"""

from __future__ import annotations

import io
import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.errors import PrerequisitesMissing
from accounts.models import Team, User
from audit import record
from monitoring import otlp
from monitoring.models import CheckRun, MonitoringAlert
from monitoring.services import redteam, runs, telemetry
from registry import storage
from registry.models import Dataset, DatasetVersion, ModelVersion, RegisteredModel
from registry.services import datasets, inventory, versions
from workflow.demo_llm import assistant, recorded
from workflow.models import ApprovalRequest, ApprovalStatus, Finding
from workflow.services import approvals, evidence, findings, gate
from workflow.services.approvals import SignatureInput

MODEL = "loan-assistant"
EVALUATION_SET = "loan-assistant-evaluation"
TRAFFIC_CALLS = 300  # the pilot's and production's: ten minutes, a call every two seconds
INJECTION_MINUTE = 6  # the minute of production traffic in which a prompt-injection campaign arrives
MODEL_FIELDS = {
    "title": "Loan assistant (retrieval + template)",
    "description": "Answers customers' questions about the lending policy from the policy passages.",
    "purpose": "Answer customers' questions about loan eligibility, rates, documents, complaints and data.",
    "intended_use": "Customer-facing assistant on the bank's website; answers only from the lending policy.",
    "out_of_scope_use": "Advice on a customer's own application; investment advice; any credit decision.",
    "limitations": "Answers only what the policy passages say; retrieval by word overlap can pick the wrong passage.",
    "business_line": "Retail lending",
    "deployment_context": "Website chat; a handover to staff is offered on every answer.",
    "affected_persons": "Prospective and current loan customers.",
    "intended_users": "Members of the public looking for a personal loan; no training assumed.",
    "human_oversight": "Every conversation can be handed to a lending adviser; transcripts are sampled weekly.",
    "autonomy_level": "assistive",
    "tier_answers": {
        "materiality": "medium",
        "complexity": "medium",
        "reliance": "medium",
        "regulatory_exposure": "high",
    },
    "tags": {"domain": "lending", "kind": "llm"},
}
TELEMETRY_MONITOR = {
    "bucket_seconds": 60,
    "min_calls": 20,
    "max_block_rate": 0.10,
    "max_flag_rate": 0.15,
    "max_refusal_rate": 0.35,
    "max_p95_latency_seconds": 1.0,
}
EVALUATION_CONFIG = {"slice_columns": ["topic"], "options": {"min_slice_rows": 6, "phone_region": "GB"}}


def seed_llm_demo() -> str:
    """Create the LLM demo unless ``loan-assistant`` already has a version; returns what happened."""
    if not settings.ATTEST_DEMO:
        raise RuntimeError("demo data is created only in demo mode (ATTEST_DEMO=1, set by `make run`)")
    existing = RegisteredModel.objects.filter(name=MODEL).first()
    if existing is not None and existing.versions.exists():
        return f"Demo LLM application {MODEL} already registered."
    maya, victor = User.objects.get(username="maya"), User.objects.get(username="victor")
    rita = User.objects.get(username="rita")
    team = Team.objects.get(name="credit-risk")
    model = existing or inventory.model_create(
        actor=maya, team=team, name=MODEL, kind="llm_application", **MODEL_FIELDS
    )
    v1 = _bundle(maya, model, 1, "First release: answers from the lending policy, repeating the question.")
    _into_validation(maya, model)
    _attach_memo(maya, v1)
    evaluation_v1 = _evaluate(maya, v1, recorded.evaluation_csv(1), "Recorded answers of v1")
    red_team_v1 = _red_team(maya, v1)
    pilot = _pilot_traffic(maya, v1)
    request_v1 = _request(maya, v1, "Customer-facing release of the loan assistant.")
    if isinstance(request_v1, ApprovalRequest):
        approvals.approval_sign(actor=victor, request=request_v1, signing=_review(v1))
    # The red-team run found v1 repeating injected text and card numbers back: the prompt is changed.
    v2 = _bundle(maya, model, 2, "Prompt change: cite the policy section instead of repeating the question.")
    _into_validation(maya, model)  # a new version takes the model back to development
    _attach_memo(maya, v2)
    _evaluate(maya, v2, recorded.evaluation_csv(2), "Recorded answers of v2")
    _red_team(maya, v2)
    request_v2 = _request(maya, v2, "Prompt change after the red-team run of v1.")
    story_v2 = _release(maya, victor, rita, v2, request_v2)
    with transaction.atomic():
        record(
            action="system.demo_seeded",
            actor=None,
            obj=model,
            after={"model": MODEL, "versions": [v1.version, v2.version]},
        )
    return (
        f"Registered {MODEL} v1 and v2 (bundles {v1.artifact_sha256[:12]}…, {v2.artifact_sha256[:12]}…); "
        f"v1: llm_evaluation {evaluation_v1.outcome}, red-team ASR {red_team_v1.attack_success_rate:.0%}, "
        f"{pilot.accepted} pilot calls ({len(pilot.alerts)} telemetry alerts); {_pending(request_v1)} "
        f"v2: {story_v2}"
    )


def _pending(request: ApprovalRequest | str) -> str:
    if isinstance(request, str):
        return request
    return (
        f"approval #{request.pk} of v1 for production, signed by victor, waits for the risk officer (rita), "
        "who will be told that v2 superseded it."
    )


def _release(maya: User, victor: User, rita: User, v2: ModelVersion, request: ApprovalRequest | str) -> str:
    """v2 through the same gate as the credit model: victor's review and rita's approval, maya's deployment
    of the approved bundle digest, then production telemetry whose breach becomes a finding."""
    if isinstance(request, str):
        return request
    approvals.approval_sign(actor=victor, request=request, signing=_review(v2))
    approvals.approval_sign(actor=rita, request=request, signing=_risk_approval(v2))
    request.refresh_from_db()
    if request.status != ApprovalStatus.APPROVED:
        return f"approval #{request.pk} for production is {request.status}."
    v2 = ModelVersion.objects.select_related("model").get(pk=v2.pk)  # the model is approved now
    deployment = gate.deployment_record(
        actor=maya,
        version=v2,
        environment="production",
        digest=f"sha256:{v2.artifact_sha256}",
        note="Website chat, all traffic.",
    )
    production = _production_traffic(maya, v2)
    findings.findings_sweep()  # as the periodic task does: every alert becomes a finding
    v2.model.refresh_from_db()
    return (
        f"approval #{request.pk} for production approved by victor and rita; deployed to production "
        f"(deployment #{deployment.pk}, bundle {v2.artifact_sha256[:12]}…); {production.accepted} production "
        f"calls, {_alert_words(production.alerts)}; "
        f"{MODEL} is {v2.model.get_status_display().lower()}, {_gate_words(v2)}"
    )


def _alert_words(alert_ids: tuple[int, ...]) -> str:
    """``telemetry alert #9 (Telemetry on …: guardrail block rate 0.5) → finding #17 (critical)``."""
    alerts = MonitoringAlert.objects.filter(pk__in=alert_ids).order_by("pk")
    raised = {
        f.dedupe_key: f for f in Finding.objects.filter(dedupe_key__in=[f"alert:{a.pk}" for a in alerts])
    }
    words = []
    for alert in alerts:
        finding = raised.get(f"alert:{alert.pk}")
        found = f" → finding #{finding.pk} ({finding.severity})" if finding else ", no finding"
        words.append(f"telemetry alert #{alert.pk} ({alert.title}){found}")
    return "; ".join(words) or "no telemetry alert"


def _gate_words(version: ModelVersion) -> str:
    decision = gate.gate_evaluate(version=version, environment="production")
    if decision.allowed:
        return "the production gate still allows v2."
    return f"the production gate refuses v2: {'; '.join(decision.reasons)}."


def _bundle(actor: User, model: RegisteredModel, number: int, description: str) -> ModelVersion:
    metadata = versions.VersionMetadata(
        description=description,
        source="workflow/demo_llm/assistant.py",
        tags={"prompt": f"answer-v{number}"},
        parent=model.versions.order_by("-version").first(),
    )
    version, _ = versions.model_version_bundle_submit(
        actor=actor, model=model, components=assistant.bundle(number), metadata=metadata
    )
    return version


def _into_validation(actor: User, model: RegisteredModel) -> None:
    for status in ("in_development", "in_validation"):
        model.refresh_from_db()
        if model.status == "in_validation" or (status == "in_development" and model.status == status):
            continue
        inventory.model_change_status(
            actor=actor, model=model, status=status, reason="Demo: the loan assistant handed to validation."
        )


MEMO = (
    "The loan assistant answers from seven passages of the lending policy, retrieved by word overlap, with "
    "a fixed answer template; a question matching no passage well enough is refused. It gives no advice "
    "on a customer's own application and takes no decision. Evidence: the recorded evaluation set "
    "(answer quality, refusals and personal data per topic), a red-team run of prompt injection, "
    "jailbreak, personal-data and system-prompt probes, and content-free telemetry of the pilot."
)


def _attach_memo(actor: User, version: ModelVersion) -> None:
    content = f"# Conceptual soundness memo: {version}\n\n{MEMO}\n".encode()
    upload = storage.upload_from_file(io.BytesIO(content), "conceptual_soundness_memo.md")
    evidence.evidence_add(
        actor=actor,
        version=version,
        evidence_type="conceptual_soundness_memo",
        title="Conceptual soundness memo",
        upload=upload,
    )


def _evaluation_version(actor: User, content: bytes, description: str) -> DatasetVersion:
    dataset = Dataset.objects.filter(name=EVALUATION_SET).first() or datasets.dataset_create(
        actor=actor,
        team=Team.objects.get(name="credit-risk"),
        name=EVALUATION_SET,
        title="Loan assistant: recorded evaluation set",
        description="Questions written for the demo, the retrieved passage, the recorded answer, a "
        "reference answer, the topic and some reviewers' labels (workflow/demo_llm/recorded.py).",
    )
    version, _ = datasets.dataset_version_upload(
        actor=actor,
        dataset=dataset,
        upload=storage.upload_from_file(io.BytesIO(content), f"{EVALUATION_SET}.csv"),
        role="validation",
        description=description,
    )
    return version


def _evaluate(actor: User, version: ModelVersion, content: bytes, description: str) -> CheckRun:
    current = _evaluation_version(actor, content, description)
    run = runs.check_run_create(
        actor=actor, kind="llm_evaluation", version=version, current=current, config=dict(EVALUATION_CONFIG)
    )
    runs.check_run_execute(run_id=run.pk, task_id=f"demo-{run.pk}")
    run.refresh_from_db()
    return run


def _red_team(actor: User, version: ModelVersion):
    report = recorded.garak_report(version.version)
    upload = storage.upload_from_file(io.BytesIO(report), f"garak.{MODEL}.v{version.version}.report.jsonl")
    run, _ = redteam.red_team_run_import(actor=actor, version=version, report_format="garak", upload=upload)
    return run


def _pilot_traffic(actor: User, version: ModelVersion) -> telemetry.IngestResult:
    """A short simulated pilot of v1 the day before: ``TRAFFIC_CALLS`` calls two seconds apart, judged per
    minute by the version's telemetry monitor; nothing breaches."""
    telemetry.telemetry_monitor_set(actor=actor, model_version=version, **TELEMETRY_MONITOR)
    return _traffic(actor, version, end=_current_minute() - 86_400)


def _production_traffic(actor: User, version: ModelVersion) -> telemetry.IngestResult:
    """Ten minutes of production traffic of the deployed version, up to the current minute, judged by the
    same monitor; in minute ``INJECTION_MINUTE`` an automated prompt-injection campaign sends every other
    call, the guardrail blocks them, and that minute's block rate breaches the monitor's maximum."""
    telemetry.telemetry_monitor_set(actor=actor, model_version=version, **TELEMETRY_MONITOR)
    return _traffic(actor, version, end=_current_minute(), campaign_minute=INJECTION_MINUTE)


def _current_minute() -> int:
    return int(timezone.now().timestamp()) // 60 * 60


def _traffic(
    actor: User, version: ModelVersion, *, end: int, campaign_minute: int | None = None
) -> telemetry.IngestResult:
    """``TRAFFIC_CALLS`` simulated calls two seconds apart ending at ``end`` (a minute, in epoch seconds),
    as content-free OTLP log records (counts, tokens, latency, guardrail action, refusal; no prompt or
    answer text), read by the OTLP decoder and written by the intake service, judged per minute by the
    version's telemetry monitor. The counts never depend on the time.

    Customers ask the evaluation set's questions; every 25th call is a red-team probe, which the input
    guardrail blocks (injection, jailbreak, prompt extraction) or flags (personal data); every 20th
    ordinary call is flagged for personal data in the question. In ``campaign_minute`` (counted from the
    first), every other call is an injection, jailbreak or prompt-extraction probe, blocked."""
    questions = [question for _, question in recorded.QUESTIONS]
    probes = [(probe, prompt) for probe, (_, prompts) in recorded.PROBES.items() for prompt in prompts]
    attacks = [(probe, prompt) for probe, prompt in probes if not probe.startswith("leakreplay.")]
    start_ns = (end - TRAFFIC_CALLS * 2) * 1_000_000_000
    records = []
    for call in range(TRAFFIC_CALLS):
        if campaign_minute is not None and call // 30 == campaign_minute and call % 2 == 0:
            _, question = attacks[(call // 2) % len(attacks)]
            action = "block"
        elif call % 25 == 7:
            probe, question = probes[(call // 25) * 2 % len(probes)]
            action = "flag" if probe.startswith("leakreplay.") else "block"
        else:
            question = questions[(call * 7) % len(questions)]
            action = "flag" if call % 20 == 3 else "pass"
        reply = assistant.answer(question, version=version.version)
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "retrieval-template-responder",
            "gen_ai.usage.input_tokens": len(question.split()) + 60,
            "gen_ai.usage.output_tokens": 0 if action == "block" else len(reply.output.split()),
            "gen_ai.response.finish_reasons": ["content_filter" if action == "block" else "stop"],
            "gen_ai.client.operation.duration": round(0.05 + (call % 13) * 0.02, 3),
            "attest.guardrail.action": action,
            "attest.refusal": reply.refused and action != "block",
        }
        records.append(
            {
                "timeUnixNano": str(start_ns + call * 2_000_000_000),
                "attributes": [{"key": key, "value": _any(value)} for key, value in attributes.items()],
            }
        )
    body = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "attest.model", "value": {"stringValue": MODEL}},
                        {"key": "attest.model.version", "value": {"intValue": str(version.version)}},
                    ]
                },
                "scopeLogs": [{"scope": {"name": "loan-assistant"}, "logRecords": records}],
            }
        ]
    }
    batch = otlp.read_logs(json.dumps(body).encode(), json_encoding=True)
    return telemetry.telemetry_ingest(actor=actor, batch=batch)


def _any(value) -> dict:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any(item) for item in value]}}
    return {"stringValue": str(value)}


def _request(maya: User, version: ModelVersion, justification: str) -> ApprovalRequest | str:
    """maya's request for production, or what the policy found missing."""
    version.model.refresh_from_db()
    try:
        return approvals.approval_request(
            actor=maya, version=version, environment="production", justification=justification
        )
    except PrerequisitesMissing as refused:
        return f"approval not requested: {'; '.join(refused.details.get('missing', []))}."


def _review(version: ModelVersion) -> SignatureInput:
    return SignatureInput(
        decision="approve",
        meaning="review",
        password=settings.ATTEST_DEMO_PASSWORD,
        comment=f"Validation of {version}: evaluation, red-team run and pilot telemetry reviewed.",
    )


def _risk_approval(version: ModelVersion) -> SignatureInput:
    return SignatureInput(
        decision="approve",
        meaning="approval",
        password=settings.ATTEST_DEMO_PASSWORD,
        comment=f"Risk approval of {version}: the prompt change closed the red-team failures of v1; "
        "production telemetry is monitored per minute.",
    )
