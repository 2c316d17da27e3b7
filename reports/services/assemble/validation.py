"""The validation report's input: the signed record of a version, mapped to ``ValidationReportInput``.

The evidence is what the described approval's frozen manifest names (``workflow.services.evidence.
signed_evidence``: its check runs and documents, never "the latest runs"); evidence that arrived after it
is listed apart with its outcomes. With no approval, the report shows the evidence a request would freeze
now and says nobody signed it. Every signature of every request of the version is listed with a digest
line: it matches the described manifest, or the differences are spelled out. Control coverage is judged
on the same evidence.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from charts import BeeswarmFeature, Distribution
from monitoring import results
from monitoring.checks.explainability import describe
from monitoring.metrics import catalogue, drift_statistics
from monitoring.metrics.catalogue import PSI_ALERT, PSI_WARN
from monitoring.models import CheckRun
from monitoring.results import ColumnDrift, DistributionData, Evaluation
from registry.models import ModelVersion
from reports.models import Report
from reports.rendering.common import number
from reports.rendering.inputs import MetricResult
from reports.rendering.validation import (
    CheckRunSummary,
    DriftFeature,
    ExplainabilityEvidence,
    FairnessEvidence,
    LaterEvidence,
    PerformanceEvidence,
    StabilityEvidence,
    Statement,
    ValidationReportInput,
)
from reports.services.assemble import common, llm, validation_document
from workflow import markdown
from workflow.models import EvidenceDocument, Policy
from workflow.services.evidence import material_changes
from workflow.services.policies import mandatory_kinds

ORDER = {"pass": 0, "info": 0, "warn": 1, "fail": 2}
INFO_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1", "gini", "r2", "rmse", "mae")
MAX_DOCUMENT_TEXT = 20_000
SOUNDNESS_EVIDENCE = ("conceptual_soundness_memo",)


def validation_input(report: Report) -> ValidationReportInput:
    """Everything the validation report of ``report.model_version`` shows, read from the signed record:
    the runs and documents of the approval's frozen manifest, never the latest runs."""
    version = report.model_version
    evidence = common.described_evidence(report)
    runs = sorted(evidence.runs, key=lambda run: run.kind)
    by_kind = {run.kind: run for run in runs}
    requests = common.approval_requests(version)
    policy = _policy(version, evidence)
    findings = common.findings_of(version)
    controls = common.control_statuses(version, evidence)
    return ValidationReportInput(
        document=common.document_info(report, report.document_id),
        model=common.model_info(version),
        evidence_digest=evidence.digest,
        audit_chain_head=common.chain_head(),
        outcome=overall_outcome(runs, policy, version.model.kind),
        summary=_summary(runs, policy, findings, controls, evidence, version.model.kind),
        scope=_scope(version, policy, evidence),
        record=record_statement(evidence),
        environment=evidence.approval.environment if evidence.approval else "",
        policy=_policy_text(policy),
        conceptual_soundness=soundness_statements(version, evidence.documents),
        datasets=common.dataset_profiles(version),
        data_quality=[metric_result(item) for item in _worst_first(by_kind.get("data_quality"))],
        data_quality_run=_quality_run_text(by_kind.get("data_quality")),
        llm_evaluation=[metric_result(item) for item in _worst_first(by_kind.get("llm_evaluation"))],
        llm_evaluation_run=_llm_run_text(by_kind.get("llm_evaluation")),
        llm_application=llm.llm_application_evidence(version, evidence),
        performance=performance_evidence(by_kind.get("performance")),
        fairness=fairness_evidence(by_kind.get("fairness")),
        explainability=explainability_evidence(by_kind.get("explainability")),
        stability=stability_evidence(by_kind.get("drift")),
        findings=common.finding_items(findings),
        approvals=common.signature_items(requests, evidence.manifest),
        evidence=common.evidence_items(version, runs, evidence.documents),
        later=later_evidence(evidence),
        controls=controls,
        check_runs=[_run_summary(run) for run in runs],
        manifest=evidence.manifest.to_stored(),
        authored=validation_document.authored_document(version, evidence),
    )


def _worst_first(run: CheckRun | None) -> list[Evaluation]:
    return sorted(results.evaluations_of(run) if run else [], key=lambda item: -ORDER.get(item.status, 0))


def _llm_run_text(run: CheckRun | None) -> str:
    """The recorded set, its row count and every overall mean, as the run stored them."""
    if run is None:
        return ""
    report = results.of(run).metrics.llm_evaluation
    means = ", ".join(
        f"{catalogue.lookup(name).label} {number(entry.value)}"
        for name, entry in report.overall.metrics.items()
        if entry.value is not None
    )
    return (
        f"Check run {run.pk} ({run.outcome}) measured {report.overall.rows} recorded rows of "
        f"{common.dataset_label(run.current_dataset)} (means: {means or 'none'}): {run.outcome_reason}"
    )


def _quality_run_text(run: CheckRun | None) -> str:
    if run is None:
        return ""
    return (
        f"Check run {run.pk} ({run.outcome}) compared {common.dataset_label(run.current_dataset)} with "
        f"{common.dataset_label(run.reference_dataset)}: {run.outcome_reason}"
    )


def record_statement(evidence) -> str:
    """Which signed record the document describes, in one sentence a reader can check."""
    approval = evidence.approval
    if approval is None:
        return (
            "No approval has been requested for this version: the evidence below is what a request would "
            "freeze now, and nobody has signed it."
        )
    when = approval.completed_at if approval.status == "approved" else approval.requested_at
    verb = "approved" if approval.status == "approved" else "requested"
    return (
        f"This report describes approval request #{approval.pk} ({approval.environment}, {approval.status}, "
        f"{verb} {common.utc(when):%Y-%m-%d %H:%M} UTC): the check runs and documents below are exactly those "
        f"of the manifest its signers signed (SHA-256 {approval.evidence_digest})."
    )


def later_evidence(evidence) -> LaterEvidence | None:
    """Validation runs and documents that arrived after the manifest was frozen, with their outcomes."""
    if not evidence.signed or not (evidence.later_runs or evidence.later_documents):
        return None
    return LaterEvidence(
        title=evidence.later_summary(),
        runs=[
            (str(run.pk), run.kind, run.outcome, common.utc(run.finished_at), run.outcome_reason)
            for run in evidence.later_runs
        ],
        documents=[
            (document.title, document.evidence_type_id, common.utc(document.uploaded_at), document.sha256)
            for document in evidence.later_documents
        ],
        material=material_changes(evidence, evidence.approval.policy)
        if evidence.approval.status == "approved"
        else [],
    )


def report_summary(data: ValidationReportInput) -> dict[str, Any]:
    """The headline facts kept on the record (and shown by the API)."""
    return {
        "outcome": data.outcome,
        "evidence_digest": data.evidence_digest,
        "check_runs": len(data.check_runs),
        "signatures": len(data.approvals),
        "controls_satisfied": sum(1 for c in data.controls if c.status == "satisfied"),
        "controls": len(data.controls),
    }


# ---------------------------------------------------------------------------------------------- verdict


def _policy(version: ModelVersion, evidence) -> Policy | None:
    if evidence.approval is not None:
        return evidence.approval.policy
    return Policy.objects.filter(tier=version.model.risk_tier, is_active=True).first()


def _policy_text(policy: Policy | None) -> str:
    return f"tier {policy.tier} v{policy.version}: {policy.name}" if policy else ""


def required_kinds(policy: Policy | None, model_kind: str | None = None) -> list[str]:
    return mandatory_kinds(policy.required_checks if policy else [], model_kind)


def overall_outcome(runs: Sequence[CheckRun], policy: Policy | None, model_kind: str | None = None) -> str:
    """``fail`` when a run failed or a check the policy requires has no run; else the worst outcome."""
    present = {run.kind for run in runs}
    if any(kind not in present for kind in required_kinds(policy, model_kind)):
        return "fail"
    worst = max((ORDER.get(run.outcome, 1) for run in runs), default=1)
    return {0: "pass", 1: "warn", 2: "fail"}[worst]


def _summary(runs, policy, findings, controls, evidence, model_kind=None) -> str:
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.outcome] = counts.get(run.outcome, 0) + 1
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "none"
    missing = [kind for kind in required_kinds(policy, model_kind) if kind not in {run.kind for run in runs}]
    signed = "signed" if evidence.signed else "proposed (not yet signed)"
    runs_words = "1 check run is" if len(runs) == 1 else f"{len(runs)} check runs are"
    sentences = [f"{runs_words} the {signed} evidence ({outcomes})."]
    if missing:
        sentences.append(f"The policy requires checks with no run in it: {', '.join(missing)}.")
    open_findings = sum(1 for finding in findings if finding.status == "open")
    satisfied = sum(1 for control in controls if control.status == "satisfied")
    sentences.append(
        f"{'1 finding is' if open_findings == 1 else f'{open_findings} findings are'} open; "
        f"{satisfied} of {len(controls)} controls are satisfied."
    )
    approval = evidence.approval
    if approval is not None:
        sentences.append(f"Approval request #{approval.pk} ({approval.environment}) is {approval.status}.")
    else:
        sentences.append("No approval has been requested.")
    later = evidence.later_summary() if evidence.signed else ""
    if later:
        sentences.append(f"Evidence arrived later and is listed apart ({later}).")
    return " ".join(sentences)


def _scope(version: ModelVersion, policy: Policy | None, evidence) -> str:
    against = f" against policy {_policy_text(policy)}" if policy else ""
    if evidence.signed:
        basis = (
            f"The evidence is the check runs and documents of the manifest frozen by approval request "
            f"#{evidence.approval.pk}, with the findings and signatures stored in Attest when this report "
            "was generated; evidence added later is listed apart and is not part of what was signed"
        )
    else:
        basis = (
            "The evidence is the latest succeeded validation run of each check kind and the evidence "
            "documents, as an approval request would freeze them now"
        )
    return f"Validation of {version}{against}. {basis}; scheduled monitoring runs are reported separately."


def _run_summary(run: CheckRun) -> CheckRunSummary:
    return CheckRunSummary(
        run_id=str(run.pk),
        kind=run.kind,
        outcome=run.outcome,
        finished_at=common.utc(run.finished_at) if run.finished_at else None,
        results=run.results or {},  # attached as stored: the bytes whose SHA-256 the manifest names
    )


# ---------------------------------------------------------------------------------------------- narrative


def soundness_statements(version: ModelVersion, documents: Sequence[EvidenceDocument]) -> list[Statement]:
    """The inventory's use and limitations, and the text of each conceptual-soundness memo of
    ``documents`` (the signed manifest's). Texts are Markdown source: memos as written, the inventory's
    plain text quoted so that it prints as typed."""
    model = version.model
    statements = [
        Statement(title=title, text=markdown.literal(text))
        for title, text in (
            ("Intended use", model.intended_use),
            ("Limitations", model.limitations),
            ("Uses out of scope", model.out_of_scope_use),
        )
        if text.strip()
    ]
    memos = [document for document in documents if document.evidence_type_id in SOUNDNESS_EVIDENCE]
    for document in sorted(memos, key=lambda document: (document.uploaded_at, document.pk)):
        statements.append(
            Statement(
                title=document.title,
                text=document_text(document),
                reference=f"{document.file_name}, SHA-256 {document.sha256}",
            )
        )
    return statements


def document_text(document: EvidenceDocument) -> str:
    """The document as Markdown source when it is short UTF-8 text (a ``.md`` file as written, any other
    text quoted so that it prints as it is, line breaks kept); otherwise a pointer to the evidence index."""
    found = markdown.evidence_text(document, limit=MAX_DOCUMENT_TEXT)
    if found is not None:
        return found.source
    return markdown.literal(
        f"The document is not plain text ({document.size} bytes); see the evidence index for its SHA-256."
    )


# ---------------------------------------------------------------------------------------------- checks


def performance_evidence(run: CheckRun | None) -> PerformanceEvidence | None:
    """Judged metrics with their thresholds, other headline metrics, confusion matrix, ROC, calibration."""
    if run is None:
        return None
    stored = results.of(run)
    performance = stored.metrics.performance
    evaluations = results.evaluations_of(run)
    metrics = [metric_result(item) for item in evaluations]
    judged = {item.metric for item in evaluations}
    for name in INFO_METRICS:
        value = performance.headline(name)
        if name not in judged and value is not None:
            metrics.append(MetricResult(name=name, value=value))
    matrix = stored.charts.confusion_matrix
    roc = stored.charts.roc
    predicted, observed = _calibration(stored.charts.calibration)
    if not (metrics or matrix or roc or predicted):
        return None  # the run stored nothing to show: the section says so
    return PerformanceEvidence(
        dataset=common.dataset_label(run.current_dataset),
        metrics=metrics,
        class_labels=[str(label) for label in matrix.labels] if matrix else [],
        confusion_matrix=matrix.matrix if matrix else [],
        roc_fpr=roc.fpr if roc else [],
        roc_tpr=roc.tpr if roc else [],
        auc=performance.roc_auc,
        calibration_predicted=predicted,
        calibration_observed=observed,
    )


def metric_result(item: Evaluation) -> MetricResult:
    """An evaluation as a metric row: its declared label, value, threshold and comparison, its status."""
    declared = catalogue.lookup(item.metric)
    return MetricResult(
        name=f"{declared.label} ({item.scope})" if item.scope else declared.label,
        value=common.as_number(item.value),
        threshold=common.as_number(item.threshold),
        comparison=declared.comparison,
        outcome=item.status,
    )


def _calibration(calibration: results.Calibration | None) -> tuple[list[float], list[float]]:
    if calibration is None:
        return [], []
    pairs = [
        (p, o)
        for p, o in zip(calibration.mean_predicted, calibration.observed_rate, strict=False)
        if p is not None and o is not None
    ]
    return [p for p, _ in pairs], [o for _, o in pairs]


def fairness_evidence(run: CheckRun | None) -> list[FairnessEvidence]:
    """Disparate impact per group of each sensitive grouping, against the parity-ratio threshold.

    Every group the check reported is listed; those below its ``min_group_size`` (``judged`` false) are
    marked not judged, so the chart and the table show them without a pass or a fail. A judged group
    without a ratio (no positive predictions anywhere) is left out, as it has nothing to draw.
    """
    if run is None:
        return []
    stored = results.of(run)
    charts = stored.charts
    threshold = ((run.thresholds or {}).get("demographic_parity_ratio_min") or {}).get("value")
    if threshold is None:
        threshold = charts.disparate_impact_line if charts.disparate_impact_line is not None else 0.8
    evidence = []
    for bar in charts.group_bars:
        # The check names a grouping's scope with " & " between its features ("grouping sex & age").
        feature = " & ".join(str(name) for name in bar.features)
        groups = [group for group in bar.groups if group.disparate_impact is not None or not group.judged]
        evidence.append(
            FairnessEvidence(
                metric="disparate impact",
                sensitive_feature=feature,
                threshold=threshold,
                groups={str(g.label): g.disparate_impact for g in groups},
                higher_is_better=True,
                group_sizes={str(g.label): g.count for g in groups if g.count is not None},
                outcome=_worst(run, f"grouping {feature}"),
                not_judged=[str(g.label) for g in groups if not g.judged],
                min_group_size=stored.metrics.fairness.min_group_size,
            )
        )
    return evidence


def _worst(run: CheckRun, scope: str) -> str:
    statuses = [item.status for item in results.evaluations_of(run) if item.scope == scope]
    if not statuses:
        return run.outcome
    return max(statuses, key=lambda status: ORDER.get(status, 1))


def explainability_evidence(run: CheckRun | None) -> ExplainabilityEvidence | None:
    """The judged metrics (sensitive and prohibited share of |SHAP|, rank stability) with their thresholds,
    outcomes and threshold sources, what each compared, mean |SHAP| per feature and the beeswarm points."""
    if run is None:
        return None
    stored = results.of(run)
    explanation = stored.metrics.explanation
    method = explanation.explainer or "SHAP"
    if explanation.output:
        method = f"{method}, {explanation.output}"
    importance = {item.feature: item.mean_abs_shap for item in stored.charts.shap_bar}
    if not importance:
        return None  # nothing to chart: the section says no evidence was supplied
    evaluations = results.evaluations_of(run)
    sources = [
        f"{item.threshold_name} = {number(item.threshold)}: {item.threshold_source or 'not stated'}"
        for item in evaluations
        if item.threshold is not None and item.threshold_name in (run.thresholds or {})
    ]
    return ExplainabilityEvidence(
        method=method,
        mean_abs_shap=importance,
        beeswarm=[_beeswarm(item) for item in stored.charts.beeswarm],
        rows_explained=explanation.rows_explained,
        judgements=[metric_result(item) for item in evaluations],
        statements=describe(stored.metrics.to_stored()),
        threshold_sources=sources,
    )


def _beeswarm(item: results.BeeswarmData) -> BeeswarmFeature:
    points = [point for point in item.points if common.as_number(point[1]) is not None]
    return BeeswarmFeature(
        feature=item.feature,
        shap_values=[point[1] for point in points],
        feature_values=[common.as_number(point[0]) for point in points],
    )


def stability_evidence(run: CheckRun | None) -> StabilityEvidence | None:
    """PSI and the deciding test per feature, and the binned distributions the check stored."""
    if run is None:
        return None
    stored = results.of(run)
    thresholds = run.thresholds or {}
    features = [_drift_feature(column) for column in stored.metrics.data_drift.columns]
    prediction = stored.metrics.prediction_drift.prediction if stored.metrics.prediction_drift else None
    if prediction:  # the model's output is judged too: it belongs in the same table
        features.append(_drift_feature(prediction, name=f"{prediction.column} (model output)"))
    if not features:
        return None  # nothing to chart: the section says no evidence was supplied
    return StabilityEvidence(
        reference=common.dataset_label(run.reference_dataset),
        current=common.dataset_label(run.current_dataset),
        features=features,
        distributions=[_distribution(item) for item in stored.charts.distributions],
        warn=(thresholds.get("psi_warn") or {}).get("value") or PSI_WARN,
        alert=(thresholds.get("psi_fail") or {}).get("value") or PSI_ALERT,
        dataset_metrics=[
            metric_result(item) for item in results.evaluations_of(run) if item.scope == "dataset"
        ],
    )


def _drift_feature(column: ColumnDrift, name: str = "") -> DriftFeature:
    statistics, test = column.statistics, column.test
    feature = DriftFeature(
        feature=name or column.column,
        psi=statistics.psi.value if statistics.psi else None,
        drifted=bool(column.drift_detected),
        statistic=test.label if test else "",
    )
    if not test:
        return feature  # not tested: no statistic to show
    # The declaration says which number is the statistic and which the p-value; an undeclared test is a
    # KeyError here rather than an empty cell in a signed report.
    spec = drift_statistics.statistic(test.name)
    block = statistics.of_test(spec.name)
    return replace(
        feature,
        statistic_value=common.as_number(block[spec.shown_key]),
        p_value=common.as_number(block[spec.score_key]) if spec.is_p_value else None,
    )


def _distribution(item: DistributionData) -> Distribution:
    labels = bin_labels(item.edges) if item.type == "histogram" else [str(label) for label in item.labels]
    return Distribution(
        feature=item.column,
        labels=labels,
        reference=item.reference_shares,
        current=item.current_shares,
    )


def bin_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the PSI bins ``(-inf, e1), [e1, e2), …, [ek, +inf)``: ``< e1``, ``e1 to e2``, ``≥ ek``."""
    if not edges:
        return ["all values"]
    middle = [f"{number(low)} to {number(high)}" for low, high in itertools.pairwise(edges)]
    return [f"< {number(edges[0])}", *middle, f"≥ {number(edges[-1])}"]
