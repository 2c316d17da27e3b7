"""Demo governance story for `make run`, on top of the demo inventory (registry/demo.py).

After seeding, a new user finds a realistic first day: credit-scoring v1 has passing checks of every
kind run on the German credit data, the three documents the tier-1 policy asks for, a production
approval request that victor (validator) has already signed so it waits for rita (risk officer), a
daily monitoring plan whose first run found drift in the shifted production batch, and the findings
that raised. Everything goes through the services, so the audit trail tells the same story.
Idempotent: once an approval request exists for the demo version, nothing is created again.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from monitoring.models import CheckRun, MonitoringPlan
from monitoring.services import plans, runs
from registry import storage
from registry.models import Dataset, ModelVersion
from registry.services import inventory
from workflow.models import ApprovalRequest, Finding
from workflow.services import approvals, evidence, findings, validation_documents
from workflow.services.approvals import SignatureInput

MODEL = "credit-scoring"
REFERENCE = "german-credit-train"
VALIDATION = "german-credit-validation"
PRODUCTION = "german-credit-production"

DOCUMENTS = {
    "conceptual_soundness_memo": (
        "Conceptual soundness memo",
        "Gradient boosting (150 trees, depth 3) on one-hot encoded applicant attributes was chosen over "
        "logistic regression for its validation ROC AUC at comparable stability. Monotonicity of duration "
        "and credit amount was reviewed on partial-dependence plots. Sex and age are present in the data; "
        "their use is discussed in the data review and monitored by the fairness check.",
    ),
    "data_review": (
        "Data review",
        "UCI Statlog German credit data: 1,000 applications, 20 attributes, no missing values. Split 70/30 "
        "stratified on the outcome. Known limitations: 1994 data, one country, 30 % bad rate. "
        "Representativeness for today's applicants is monitored by the production drift plan.",
    ),
    "model_documentation": (
        "Model documentation",
        "Purpose, inputs, outputs, training procedure, limitations and intended use of the retail credit "
        "scoring model, following the EU AI Act Annex IV structure.",
    ),
}


def seed_workflow() -> str:
    """Create the demo checks, evidence, approval, monitoring plan and findings unless present."""
    if not settings.ATTEST_DEMO:
        raise RuntimeError("demo data is created only in demo mode (ATTEST_DEMO=1, set by `make run`)")
    version = (
        ModelVersion.objects.select_related("model").filter(model__name=MODEL).order_by("version").first()
    )
    if version is None:
        return "No demo model to build the governance demo on."
    if ApprovalRequest.objects.filter(model_version=version).exists():
        return "Demo approvals already exist."
    maya, victor = User.objects.get(username="maya"), User.objects.get(username="victor")
    _into_validation(maya, version)
    checks = _run_checks(maya, version)
    _attach_documents(maya, version)
    _write_validation_document(victor, version, checks)
    outcome = _request_and_sign(maya, victor, version)
    _monitor(maya, version)
    _validator_finding(victor, version)
    return f"Ran {len(checks)} checks on {version} ({_outcomes(checks)}); " + outcome


def _outcomes(checks: dict[str, CheckRun]) -> str:
    """``2 pass; warn: data_quality, drift`` — every outcome said, a warning is not a pass."""
    passed = [kind for kind, run in checks.items() if run.outcome == "pass"]
    parts = [f"{len(passed)} pass"] if passed else []
    for outcome in ("warn", "fail"):
        kinds = [kind for kind, run in checks.items() if run.outcome == outcome]
        if kinds:
            parts.append(f"{outcome}: {', '.join(kinds)}")
    return "; ".join(parts)


def _into_validation(actor: User, version: ModelVersion) -> None:
    """The lifecycle a submitted model goes through before an approval: development, then validation."""
    for status in ("in_development", "in_validation"):
        inventory.model_change_status(
            actor=actor,
            model=version.model,
            status=status,
            reason="Demo: version 1 handed to independent validation.",
        )
        version.model.refresh_from_db()


def _run_checks(actor: User, version: ModelVersion) -> dict[str, CheckRun]:
    training = _latest(REFERENCE)
    validation = _latest(VALIDATION)
    plan = {
        "data_quality": ({"reference": training, "current": validation}, {}),
        # the datasets declare the favourable outcome ("good"); the score column is the probability of "bad"
        "performance": ({"current": validation}, {"prediction_column": "score", "score_label": "bad"}),
        # selection rates of the declared favourable outcome, from the declared prediction column
        "fairness": ({"current": validation}, {"sensitive_columns": ["sex"]}),
        "drift": ({"reference": training, "current": validation}, {}),
        # a sample keeps `make run` quick: the model-agnostic explainer costs rows x background calls
        "explainability": (
            {"reference": training, "current": validation},
            {"options": {"max_rows": 60, "background_size": 30}},
        ),
    }
    done = {}
    for kind, (datasets, config) in plan.items():
        run = runs.check_run_create(actor=actor, kind=kind, version=version, config=config, **datasets)
        runs.check_run_execute(run_id=run.pk, task_id=f"demo-{run.pk}")
        run.refresh_from_db()
        done[kind] = run
    return done


def _latest(dataset_name: str):
    return Dataset.objects.get(name=dataset_name).versions.order_by("-version").first()


def _attach_documents(actor: User, version: ModelVersion) -> None:
    for kind, (title, text) in DOCUMENTS.items():
        content = f"# {title}: {version}\n\n{text}\n".encode()
        upload = storage.upload_from_file(io.BytesIO(content), f"{kind}.md")
        evidence.evidence_add(actor=actor, version=version, evidence_type=kind, title=title, upload=upload)


VALIDATION_TEXT = {
    "summary": "Independent validation of the retail credit scoring model (gradient boosting on the German "
    "credit data). The model is **fit for retail credit decisions** within the scope below, on condition that "
    "the use of age is justified and monitored (see the conditions).",
    "scope": "Retail consumer credit applications; decisions are reviewed by an underwriter. Out of scope: "
    "SME lending and collections.",
    "conceptual_soundness": "Gradient boosting was preferred to logistic regression for its validation "
    "performance at comparable stability. Monotonicity of duration and credit amount was reviewed on "
    "partial-dependence plots and is plausible.",
    "outcomes": "Performance on the held-out validation sample is shown below, judged against the tier-1 "
    "policy's thresholds.",
    "limitations": "1994 data from one country; a 30 % bad rate. Representativeness is monitored by the daily "
    "drift plan on production batches; a breach puts the model under review.",
}


def _write_validation_document(victor: User, version: ModelVersion, checks: dict[str, CheckRun]) -> None:
    """victor's validation report, written before the request so the approval's digest covers it."""
    validation_documents.validation_document_save(
        actor=victor,
        version=version,
        sections={key: {"text": text} for key, text in VALIDATION_TEXT.items()}
        | {
            "data": {
                "challenge": "Asked the first line why age is an input; answer pending (see the finding)."
            }
        },
        check_notes={
            run.pk: {"commentary": f"Reviewed: {run.outcome_reason or run.outcome}."}
            for run in checks.values()
        },
        rating="satisfactory_with_conditions",
        conditions=[
            {
                "text": "Document the business justification for age as an input, or remove it in the next version.",
                "due": (timezone.now() + timedelta(days=90)).date(),
            }
        ],
    )


def _request_and_sign(maya: User, victor: User, version: ModelVersion) -> str:
    try:
        request = approvals.approval_request(
            actor=maya,
            version=version,
            environment="production",
            justification="First production release of the retail credit scoring model.",
        )
    except approvals.PrerequisitesMissing as refused:
        return f"approval not requested: {'; '.join(refused.details.get('missing', []))}"
    approvals.approval_sign(
        actor=victor,
        request=request,
        signing=SignatureInput(
            decision="approve",
            meaning="review",
            password=settings.ATTEST_DEMO_PASSWORD,
            comment="Independent validation complete: performance, stability and fairness "
            "within the tier-1 policy.",
        ),
    )
    return f"approval #{request.pk} for production waits for the risk officer (rita)."


def _monitor(actor: User, version: ModelVersion) -> None:
    if MonitoringPlan.objects.filter(model_version=version).exists():
        return
    plan = plans.monitoring_plan_create(
        actor=actor,
        version=version,
        dataset=Dataset.objects.get(name=PRODUCTION),
        reference=_latest(REFERENCE),
        checks=[{"kind": "drift", "config": {}}],
        crontab="0 6 * * *",
        title="Daily drift on production batches",
        alert_on="warn",
    )
    # Run the first scheduled batch now, in this process, so the demo opens with its outcome.
    for run in plans.monitoring_plan_run(plan_id=plan.pk):
        runs.check_run_execute(run_id=run.pk, task_id=f"demo-{run.pk}")
    findings.findings_sweep()


def _validator_finding(victor: User, version: ModelVersion) -> None:
    if Finding.objects.filter(model=version.model, source="review").exists():
        return
    with transaction.atomic():
        findings.finding_raise(
            actor=victor,
            model=version.model,
            version=version,
            severity="medium",
            title="Age is a model input: document the business justification",
            description="Age enters the model directly. Record why it is needed and how age-related "
            "disparities are monitored, or remove it in the next version.",
        )
