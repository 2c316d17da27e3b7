"""Synthetic, deterministic report inputs for the tests and for ``benchmarks/reports.py``.

``scale=1`` gives a small report (a few pages) for the tests; larger scales add features, dataset
columns, findings, evidence and controls until the validation report passes twenty pages.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from charts import BeeswarmFeature, Distribution
from reports.rendering.audit_evidence import (
    AuditEventItem,
    AuditEvidenceInput,
    SignedCheckpoint,
    VerificationResult,
)
from reports.rendering.documentation import ChangeEntry, DocumentationInput, ItemState
from reports.rendering.inputs import (
    ChainHead,
    ColumnProfile,
    ControlStatus,
    DatasetProfile,
    DocumentInfo,
    EvidenceItem,
    FindingItem,
    MetricResult,
    ModelInfo,
    SignatureItem,
)
from reports.rendering.monitoring import AlertItem, MonitoringReportInput, MonitorPoint, MonitorSeries
from reports.rendering.validation import (
    CheckRunSummary,
    DriftFeature,
    ExplainabilityEvidence,
    FairnessEvidence,
    PerformanceEvidence,
    StabilityEvidence,
    Statement,
    ValidationReportInput,
)
from workflow.annex_iv import ANNEX_IV

GENERATED_AT = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
EVIDENCE_DIGEST = "5f2b8c1e9a7d4e3f0b6c2a1d8e9f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"
CHAIN_HEAD = "9d1c7e4b2a3f5e6d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d"
MALICIOUS = '<script>alert(1)</script> <img src="file:///etc/passwd"> url(http://169.254.169.254/)'
SIGNERS = (
    ("Victor Valdés", "validation", "review", "validator"),
    ("Rita Okonkwo-Smith", "risk sign-off", "approval", "risk-officer"),
    ("Aaron Åberg", "accountability", "responsibility", "model-owner"),
)


def digest(rng: random.Random) -> str:
    """A random-looking SHA-256 hex string (deterministic for a seeded ``rng``)."""
    return f"{rng.getrandbits(256):064x}"


def model(description: str = "Scores retail credit applications for probability of default.") -> ModelInfo:
    """The model version every sample report is about."""
    return ModelInfo(
        name="credit-default",
        version=7,
        title="Retail credit default (PD) scorecard",
        description=description,
        purpose="Probability of default for retail loan applications; input to credit decisions.",
        owner="Maya Singh",
        team="credit-risk",
        risk_tier=1,
        lifecycle_status="in validation",
        eu_ai_act_category="high-risk (Annex III 5(b))",
        artifact_sha256="a" * 64,
    )


def document(kind: str = "validation") -> DocumentInfo:
    """Document info with a fixed generation time."""
    return DocumentInfo(
        document_id=f"RPT-2025-0042-{kind}", generated_at=GENERATED_AT, generated_by="Victor Valdés"
    )


def validation_input(
    *, scale: int = 1, description: str | None = None, seed: int = 7
) -> ValidationReportInput:
    """A validation report input; ``scale`` multiplies features, columns and list lengths."""
    rng = random.Random(seed)
    features = [f"feature_{i:02d}" for i in range(8 * scale)]
    return ValidationReportInput(
        document=document(),
        model=model(description) if description is not None else model(),
        evidence_digest=EVIDENCE_DIGEST,
        audit_chain_head=ChainHead(sequence=48213, hash=CHAIN_HEAD),
        outcome="warn",
        summary=(
            "The model meets its discrimination and calibration thresholds on the validation sample. "
            "Two features show a moderate population shift; one fairness ratio is close to its threshold.\n"
            "The validator recommends approval for production with the findings below."
        ),
        scope="Independent validation of version 7 before production deployment, per policy tier-1 v3.",
        environment="production",
        policy="tier-1 policy, version 3",
        conceptual_soundness=_statements(scale),
        datasets=[
            _dataset(rng, name, role, 6 * scale)
            for name, role in (("loans-train", "training"), ("loans-holdout", "validation"))
        ],
        performance=_performance(rng),
        fairness=_fairness(rng, scale),
        explainability=_explainability(rng, features[: min(len(features), 12)]),
        stability=_stability(rng, features),
        findings=[_finding(rng, i) for i in range(3 * scale)],
        approvals=[_signature(*signer) for signer in SIGNERS],
        evidence=[_evidence(rng, i) for i in range(4 * scale)],
        controls=[_control(i) for i in range(5 * scale)],
        check_runs=[
            CheckRunSummary(
                run_id=f"run-{i}", kind=kind, outcome=outcome, finished_at=GENERATED_AT, results={"psi": 0.12}
            )
            for i, (kind, outcome) in enumerate(
                (("drift", "warn"), ("fairness", "pass"), ("performance", "pass"))
            )
        ],
        manifest={"artifact": "a" * 64, "datasets": ["b" * 64], "checks": ["run-0", "run-1", "run-2"]},
    )


def _statements(scale: int) -> list[Statement]:
    text = (
        "Gradient-boosted trees with monotone constraints on income and debt ratio. The design follows the "
        "credit policy's risk drivers; each constraint was reviewed against economic intuition. "
    )
    return [
        Statement(title=f"Design choice {i + 1}", text=text * 3, reference=f"DOC-{100 + i}")
        for i in range(2 * scale)
    ]


def _dataset(rng: random.Random, name: str, role: str, columns: int) -> DatasetProfile:
    profiles = [
        ColumnProfile(
            name=f"column_{i:02d}",
            dtype="float64" if i % 4 else "category",
            missing_share=round(rng.random() * 0.05, 4),
            summary=f"min {rng.random():.2f}, median {rng.random() * 10:.2f}, max {rng.random() * 100:.2f}",
        )
        for i in range(columns)
    ]
    return DatasetProfile(name=name, version=3, role=role, sha256=digest(rng), rows=120_000, columns=profiles)


def _performance(rng: random.Random) -> PerformanceEvidence:
    fpr = [i / 20 for i in range(21)]
    tpr = [min(1.0, math.sqrt(x) * 1.05) for x in fpr]
    bins = [(i + 0.5) / 10 for i in range(10)]
    return PerformanceEvidence(
        dataset="loans-holdout v3",
        metrics=[
            MetricResult(name="AUC", value=0.8123, threshold=0.75, comparison=">=", outcome="pass"),
            MetricResult(name="Brier score", value=0.0712, threshold=0.1, comparison="<=", outcome="pass"),
            MetricResult(name="KS", value=0.48, threshold=0.3, comparison=">=", outcome="pass"),
            MetricResult(name="Accuracy", value=0.912, outcome="info"),
        ],
        class_labels=["repaid", "default"],
        confusion_matrix=[[10230, 412], [655, 1103]],
        roc_fpr=fpr,
        roc_tpr=tpr,
        auc=0.8123,
        calibration_predicted=bins,
        calibration_observed=[min(1.0, max(0.0, x + rng.uniform(-0.04, 0.04))) for x in bins],
    )


def _fairness(rng: random.Random, scale: int) -> list[FairnessEvidence]:
    attributes = (
        ("sex", ["female", "male"]),
        ("age band", ["18-25", "26-40", "41-65", "65+"]),
        ("region", ["north", "south", "east", "west"]),
    )
    items = []
    for attribute, groups in attributes[: min(3, scale + 1)]:
        values = {g: round(0.75 + rng.random() * 0.3, 4) for g in groups}
        outcome = "pass" if min(values.values()) >= 0.8 else "warn"
        sizes = {g: rng.randint(800, 9000) for g in groups}
        items.append(
            FairnessEvidence(
                metric="disparate impact ratio",
                sensitive_feature=attribute,
                threshold=0.8,
                groups=values,
                group_sizes=sizes,
                outcome=outcome,
            )
        )
    return items


def _explainability(rng: random.Random, features: list[str]) -> ExplainabilityEvidence:
    weights = {f: 1.0 / (i + 1) for i, f in enumerate(features)}
    swarm = [
        BeeswarmFeature(
            feature=f,
            shap_values=[rng.gauss(0, weights[f]) for _ in range(400)],
            feature_values=[rng.random() for _ in range(400)],
        )
        for f in features[:8]
    ]
    return ExplainabilityEvidence(
        method="TreeExplainer (interventional)",
        mean_abs_shap={f: w * 0.4 for f, w in weights.items()},
        beeswarm=swarm,
        rows_explained=400,
    )


def _stability(rng: random.Random, features: list[str]) -> StabilityEvidence:
    drift = []
    distributions = []
    for i, feature in enumerate(features):
        psi = round(rng.random() * (0.35 if i % 3 == 0 else 0.08), 4)
        drift.append(
            DriftFeature(
                feature=feature,
                psi=psi,
                drifted=psi >= 0.25,
                statistic="KS",
                statistic_value=round(psi / 3, 4),
                p_value=round(rng.random() * 0.2, 4),
            )
        )
        reference = [math.exp(-((j - 5) ** 2) / 8) for j in range(10)]
        current = [math.exp(-((j - 5 - psi * 6) ** 2) / 8) for j in range(10)]
        distributions.append(
            Distribution(
                feature=feature,
                labels=[f"[{j}, {j + 1})" for j in range(10)],
                reference=reference,
                current=current,
            )
        )
    return StabilityEvidence(
        reference="loans-train v3",
        current="production batch 2025-03",
        features=drift,
        distributions=distributions,
    )


def _finding(rng: random.Random, i: int) -> FindingItem:
    severity = ("high", "medium", "low")[i % 3]
    return FindingItem(
        finding_id=f"F-{101 + i}",
        severity=severity,
        title=f"Population shift in feature_{i:02d} needs monitoring with a tighter threshold",
        status="open" if i % 2 == 0 else "remediated",
        owner="Maya Singh",
        due=date(2025, 4, 1) + timedelta(days=7 * i),
        source=f"run-{i % 3}",
    )


def _signature(name: str, stage: str, meaning: str, role: str) -> SignatureItem:
    return SignatureItem(
        printed_name=name,
        meaning=meaning,
        decision="approved",
        signed_at=GENERATED_AT - timedelta(hours=len(name)),
        stage=stage,
        roles=[role],
        comment="Reviewed the evidence bundle.",
        digest=EVIDENCE_DIGEST,
        authentication="password + TOTP",
    )


def _evidence(rng: random.Random, i: int) -> EvidenceItem:
    kind = ("check-result", "dataset", "document", "artifact")[i % 4]
    return EvidenceItem(
        name=f"evidence-{i:03d}.json",
        kind=kind,
        sha256=digest(rng),
        uri=f"attest://evidence/{i}",
        size=rng.randint(1_000, 9_000_000),
    )


def _control(i: int) -> ControlStatus:
    framework = ("SR 11-7", "EU AI Act", "NIST AI RMF", "ISO/IEC 42001")[i % 4]
    status = ("satisfied", "satisfied", "not-satisfied", "not-assessed")[i % 4]
    return ControlStatus(
        control_id=f"CTL-{i + 1:03d}",
        title=f"Control objective {i + 1}: evidence of independent review",
        framework=framework,
        status=status,
        evidence=[f"run-{i % 3}"],
    )


def documentation_input(*, complete: bool = False) -> DocumentationInput:
    """Annex IV input: some items answered, some structured, the rest missing unless ``complete``."""
    rng = random.Random(3)
    answers = {
        "1b": "Called by the loan origination system over an internal REST API; no other AI systems.",
        "2a": "Trained with LightGBM 4.5 on three years of applications; no pre-trained components.",
        "2b": "Monotone gradient-boosted trees optimising log-loss; see the model design document.",
        "5": "Risk management follows the bank's model risk policy (SR 11-7 aligned).",
    }
    if complete:
        answers |= {item.key: f"Answer for {item.label}." for section in ANNEX_IV for item in section.items}
    supplied = set(answers) | {"1a", "2d", "2g", "3a", "6", "7"}  # the structured data below
    states = {
        item.key: ItemState(status="supplied", present=["a sample answer"])
        if item.key in supplied
        else ItemState(status="missing", needed=[f"a model tag 'annex_iv.{item.key}' with the text"])
        for section in ANNEX_IV
        for item in section.items
    }
    return DocumentationInput(
        document=document("documentation"),
        model=model(),
        provider="Example Bank plc",
        answers=answers,
        datasets=[_dataset(rng, "loans-train", "training", 4)],
        validation_metrics=[
            MetricResult(name="AUC", value=0.8123, threshold=0.75, comparison=">=", outcome="pass")
        ],
        group_metrics=[MetricResult(name="AUC, age 18-25", value=0.79, outcome="info")],
        changes=[
            ChangeEntry(version=6, released=date(2024, 11, 2), description="Retrained on 2024 data."),
            ChangeEntry(version=7, released=date(2025, 2, 20), description="Added monotone constraints."),
        ],
        standards=["ISO/IEC 42001:2023 (AI management system)", "ISO/IEC 23894:2023 (AI risk management)"],
        states=states,
    )


def monitoring_input(*, days: int = 30, seed: int = 5) -> MonitoringReportInput:
    """Thirty daily runs of three monitored metrics, a few breaching."""
    rng = random.Random(seed)
    start = datetime(2025, 2, 1, tzinfo=UTC)
    series = []
    for name, check, threshold, higher in (
        ("PSI feature_00", "drift", 0.25, False),
        ("AUC", "performance", 0.75, True),
        ("disparate impact (age)", "fairness", 0.8, True),
    ):
        points = []
        for day in range(days):
            value = round(
                threshold * (0.5 + rng.random() * 0.7)
                if not higher
                else threshold * (0.95 + rng.random() * 0.15),
                4,
            )
            bad = value < threshold if higher else value > threshold
            points.append(
                MonitorPoint(
                    at=start + timedelta(days=day, hours=2),
                    value=value,
                    outcome="fail" if bad else "pass",
                    run_id=f"run-{check}-{day}",
                )
            )
        series.append(
            MonitorSeries(
                name=name,
                check=check,
                points=points,
                thresholds=[threshold],
                direction="lower_is_worse" if higher else "higher_is_worse",
            )
        )
    alerts = [
        AlertItem(
            at=start + timedelta(days=12),
            monitor="PSI feature_00",
            value=0.31,
            threshold=0.25,
            severity="medium",
            status="open",
            finding_id="F-201",
        )
    ]
    return MonitoringReportInput(
        document=document("monitoring"),
        model=model(),
        period_start=start,
        period_end=start + timedelta(days=days),
        environment="production",
        series=series,
        alerts=alerts,
        findings=[_finding(rng, 0)],
        summary="Drift on feature_00 crossed the alert threshold twice; performance stayed within bounds.",
    )


def audit_input(*, events: int = 40, ok: bool = True) -> AuditEvidenceInput:
    """A run of audit events for the model, its verification and the latest checkpoint."""
    rng = random.Random(11)
    actions = (
        "model_version.submitted",
        "check.queued",
        "check.succeeded",
        "approval.requested",
        "approval.signed",
    )
    items = []
    previous = "0" * 64
    for i in range(events):
        current = digest(rng)
        items.append(
            AuditEventItem(
                sequence=48000 + i,
                occurred_at=GENERATED_AT - timedelta(minutes=events - i),
                actor=("maya", "victor", "rita")[i % 3],
                action=actions[i % len(actions)],
                object_type="model_version",
                object_repr="credit-default v7",
                hash=current,
                prev_hash=previous,
            )
        )
        previous = current
    verification = VerificationResult(
        ok=ok,
        verified_at=GENERATED_AT,
        first_sequence=1,
        last_sequence=48000 + events - 1,
        events_checked=48000 + events - 1,
        chain_head=previous,
        first_bad_sequence=None if ok else 48005,
        checkpoint_verified=ok,
        message="" if ok else "Event 48005 does not hash to the value stored with it.",
    )
    checkpoint = SignedCheckpoint(
        sequence=48000 + events - 1,
        chain_head=previous,
        signed_at=GENERATED_AT,
        key_id="k-2025-01",
        signature="ZmFrZS1zaWduYXR1cmU" * 4,
    )
    return AuditEvidenceInput(
        document=document("audit"),
        scope="model credit-default",
        events=items,
        verification=verification,
        checkpoint=checkpoint,
        range_start=GENERATED_AT - timedelta(days=1),
        range_end=GENERATED_AT,
        action_descriptions={
            "check.queued": "A check run was queued.",
            "approval.signed": "An approval request was signed.",
        },
    )
