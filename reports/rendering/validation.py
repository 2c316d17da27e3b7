"""The validation report of one model version (issue 7, item 1).

Sections: cover (document id, model, version, risk tier, evidence digest, audit chain head), contents,
executive summary with the overall outcome, scope, conceptual soundness, data (dataset profiles),
outcomes analysis (metrics, confusion matrix, ROC, calibration), fairness (per-group bars against the
threshold), explainability (SHAP bar and beeswarm), stability (PSI per feature with lines at the run's
psi_warn and psi_fail, distributions of the most drifted features), findings, approvals (printed name,
UTC time and meaning of every signature), evidence index with SHA-256, control coverage.

A service fills :class:`ValidationReportInput` from the database (model version, check runs, findings,
approval request and signatures, evidence documents, control catalogue, the audit chain head at the
time) and calls :func:`build_validation_pdf`. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import charts
from charts import BeeswarmFeature, ChartSpec, Distribution
from monitoring.metrics.catalogue import PSI_ALERT, PSI_WARN
from reports.rendering import authored, llm
from reports.rendering import blocks as b
from reports.rendering.authored import AuthoredDocument
from reports.rendering.common import (
    RenderedReport,
    build_report,
    canonical_json,
    number,
    outcome_label,
    percent,
    table,
    tier_text,
    utc_text,
)
from reports.rendering.inputs import (
    ChainHead,
    ControlStatus,
    DatasetProfile,
    DocumentInfo,
    EvidenceItem,
    FindingItem,
    MetricResult,
    ModelInfo,
    SignatureItem,
)
from reports.rendering.llm import LlmApplicationEvidence
from reports.rendering.pdf import DEFAULT_TIME_LIMIT, Attachment

KIND = "validation"
MOST_DRIFTED = 4

# ---------------------------------------------------------------------------------------------- input


@dataclass(frozen=True, kw_only=True)
class Statement:
    """A piece of narrative evidence (conceptual soundness): a title, free text, an optional reference."""

    title: str
    text: str
    reference: str = ""


@dataclass(frozen=True, kw_only=True)
class PerformanceEvidence:
    """Outcomes analysis on one dataset: metrics and the curves behind them (all optional)."""

    dataset: str
    metrics: Sequence[MetricResult]
    class_labels: Sequence[str] = ()
    confusion_matrix: Sequence[Sequence[int]] = ()
    roc_fpr: Sequence[float] = ()
    roc_tpr: Sequence[float] = ()
    auc: float | None = None
    calibration_predicted: Sequence[float] = ()
    calibration_observed: Sequence[float] = ()


@dataclass(frozen=True, kw_only=True)
class FairnessEvidence:
    """One fairness metric per group of one sensitive feature, against its threshold.

    ``not_judged`` lists the groups smaller than the check's ``min_group_size``: they are shown (value and
    size) but neither pass nor fail, in the chart (grey, hatched) and in the table alike.
    """

    metric: str
    sensitive_feature: str
    threshold: float
    groups: Mapping[str, float | None]
    higher_is_better: bool = True
    group_sizes: Mapping[str, int] = field(default_factory=dict)
    outcome: str = "info"
    not_judged: Sequence[str] = ()
    min_group_size: int | None = None


@dataclass(frozen=True, kw_only=True)
class ExplainabilityEvidence:
    """Global SHAP importance, optionally per-row SHAP values for a beeswarm, and the judgements.

    ``judgements`` are the run's judged metrics (share of |SHAP| on sensitive / prohibited features, rank
    stability of the top features) with threshold and outcome; ``statements`` say what each compared and
    what was not judged and why (and the additivity diagnostic); ``threshold_sources`` why each threshold
    applied (default, policy or request).
    """

    method: str
    mean_abs_shap: Mapping[str, float]
    beeswarm: Sequence[BeeswarmFeature] = ()
    rows_explained: int | None = None
    judgements: Sequence[MetricResult] = ()
    statements: Sequence[str] = ()
    threshold_sources: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class DriftFeature:
    """Drift statistics of one feature; ``drifted`` is the check's decision."""

    feature: str
    psi: float | None
    drifted: bool
    statistic: str = ""  # e.g. "KS", "chi-square"
    statistic_value: float | None = None
    p_value: float | None = None


@dataclass(frozen=True, kw_only=True)
class StabilityEvidence:
    """Reference-vs-current drift: per-feature statistics and binned distributions for the charts."""

    reference: str
    current: str
    features: Sequence[DriftFeature]
    distributions: Sequence[Distribution] = ()
    warn: float = PSI_WARN
    alert: float = PSI_ALERT
    dataset_metrics: Sequence[MetricResult] = ()


@dataclass(frozen=True, kw_only=True)
class CheckRunSummary:
    """A check run as attached to the PDF/A variant: its id, kind, outcome and raw results JSON."""

    run_id: str
    kind: str
    outcome: str
    finished_at: datetime | None = None
    results: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LaterEvidence:
    """Evidence that arrived after the described approval's manifest was frozen (not part of what was signed).

    ``runs``: (run id, kind, outcome, finished at, outcome reason); ``documents``: (title, type, uploaded
    at, SHA-256); ``material``: the changes the policy counts as material, in words.
    """

    title: str
    runs: Sequence[tuple[str, str, str, datetime, str]] = ()
    documents: Sequence[tuple[str, str, datetime, str]] = ()
    material: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class ValidationReportInput:
    """Everything the validation report shows; plain values only (see ``common`` for shared records).

    ``evidence_digest`` is the described approval request's digest over ``manifest`` (the canonical
    evidence manifest its signers signed, attached to the PDF/A variant as ``manifest.json``), or the
    digest a request would sign now when ``record`` says nothing was signed; ``later`` is the evidence
    that arrived after it; ``audit_chain_head`` is the chain head when the report was generated;
    ``outcome`` is ``pass``, ``warn`` or ``fail``.
    """

    document: DocumentInfo
    model: ModelInfo
    evidence_digest: str
    audit_chain_head: ChainHead
    outcome: str
    summary: str
    scope: str
    record: str = ""
    environment: str = ""
    policy: str = ""
    conceptual_soundness: Sequence[Statement] = ()
    datasets: Sequence[DatasetProfile] = ()
    data_quality: Sequence[MetricResult] = ()
    data_quality_run: str = ""
    llm_evaluation: Sequence[MetricResult] = ()
    llm_evaluation_run: str = ""
    llm_application: LlmApplicationEvidence | None = None
    performance: PerformanceEvidence | None = None
    fairness: Sequence[FairnessEvidence] = ()
    explainability: ExplainabilityEvidence | None = None
    stability: StabilityEvidence | None = None
    findings: Sequence[FindingItem] = ()
    approvals: Sequence[SignatureItem] = ()
    evidence: Sequence[EvidenceItem] = ()
    later: LaterEvidence | None = None
    controls: Sequence[ControlStatus] = ()
    check_runs: Sequence[CheckRunSummary] = ()
    manifest: Mapping[str, Any] = field(default_factory=dict)
    authored: AuthoredDocument | None = None


# ---------------------------------------------------------------------------------------------- build


def build_validation_pdf(
    data: ValidationReportInput, *, variant: str | None = None, time_limit: float = DEFAULT_TIME_LIMIT
) -> RenderedReport:
    """Render the validation report of ``data.model``.

    With ``variant="pdf/a-3b"`` the check results (``results.json``) and the evidence manifest
    (``manifest.json``), both RFC 8785 JSON, are embedded as associated files.
    """
    specs: list[ChartSpec] = []
    sections = [
        _summary_section(data),
        *([authored.pdf_section(data.authored)] if data.authored is not None else []),
        b.section("scope", "Scope", _scope_blocks(data)),
        b.section("conceptual-soundness", "Conceptual soundness", _soundness_blocks(data)),
        b.section("data", "Data", [*_data_blocks(data.datasets), *_quality_blocks(data)]),
        *_scoring_section(
            data, data.performance, "outcomes", "Outcomes analysis", _performance_blocks, specs
        ),
        *_llm_evaluation_section(data),
        *llm.validation_sections(data.llm_application),
        *_scoring_section(data, data.fairness, "fairness", "Fairness", _fairness_blocks, specs),
        *_scoring_section(
            data, data.explainability, "explainability", "Explainability", _explainability_blocks, specs
        ),
        *_scoring_section(data, data.stability, "stability", "Stability (drift)", _stability_blocks, specs),
        b.section("findings", "Findings", _findings_blocks(data.findings)),
        b.section("approvals", "Approvals", _approval_blocks(data)),
        b.section("evidence", "Evidence index", _evidence_blocks(data.evidence)),
        *_later_section(data.later),
        b.section("controls", "Control coverage", _control_blocks(data.controls)),
    ]
    title = f"Validation report: {data.model.label}"
    context = {
        "doc": {
            "title": title,
            "kind_label": "Model validation report",
            "subtitle": data.model.title or data.model.name,
            "running": f"{data.model.label} · validation report",
        },
        "cover": _cover(data),
        "toc": b.contents(sections),
        "sections": sections,
    }
    attachments = _attachments(data) if variant else ()
    return build_report(
        kind=KIND,
        subject=f"model {data.model.label}",
        data=data,
        document=data.document,
        template="reports/pdf/report.html",
        context=context,
        charts=specs,
        variant=variant,
        attachments=attachments,
        keywords=(data.model.name, f"version {data.model.version}"),
        time_limit=time_limit,
    )


def _attachments(data: ValidationReportInput) -> tuple[Attachment, ...]:
    return (
        Attachment(
            name="results.json",
            content=canonical_json(data.check_runs),
            description="Check results behind this report (RFC 8785 JSON)",
        ),
        Attachment(
            name="manifest.json",
            content=canonical_json(data.manifest),
            description="Evidence manifest signed by the approvers (RFC 8785 JSON)",
        ),
    )


# ---------------------------------------------------------------------------------------------- cover


def _cover(data: ValidationReportInput) -> list[dict[str, str]]:
    model = data.model
    return [
        b.fact("Document id", data.document.document_id, "document-id"),
        b.fact("Model", f"{model.name}{' — ' + model.title if model.title else ''}"),
        b.fact("Version", str(model.version)),
        b.fact("Risk tier", tier_text(model.risk_tier)),
        b.fact("Overall outcome", outcome_label(data.outcome), f"outcome outcome-{data.outcome}"),
        b.fact(
            "Signed evidence digest (SHA-256)" if data.approvals else "Evidence digest (SHA-256, not signed)",
            data.evidence_digest,
            "hash",
        ),
        b.fact("Audit chain head at generation", f"sequence {data.audit_chain_head.sequence}"),
        b.fact("Audit chain head hash", data.audit_chain_head.hash, "hash"),
        b.fact("Generated", utc_text(data.document.generated_at)),
        b.fact("Generated by", data.document.generated_by),
    ]


# ---------------------------------------------------------------------------------------------- sections


def _summary_section(data: ValidationReportInput) -> dict[str, Any]:
    failed = [run for run in data.check_runs if run.outcome == "fail"]
    open_findings = [f for f in data.findings if f.status == "open"]
    satisfied = sum(1 for c in data.controls if c.status == "satisfied")
    rows = [
        ("Overall outcome", outcome_label(data.outcome), f"outcome outcome-{data.outcome}"),
        (
            "Check runs",
            f"{len(data.check_runs)} run{'' if len(data.check_runs) == 1 else 's'}, {len(failed)} failed",
        ),
        ("Open findings", _severity_counts(open_findings)),
        ("Controls satisfied", f"{satisfied} of {len(data.controls)}"),
        ("Signatures", str(len(data.approvals))),
    ]
    if data.authored is not None:
        rows.append(("Validator's rating", dict(data.authored.facts).get("Overall rating", "")))
    if data.later is not None:
        rows.append(("Evidence after approval", data.later.title.split(": ", 1)[-1], "outcome outcome-warn"))
    blocks = [b.facts(rows), b.text(data.summary)]
    if data.record:
        blocks.append(b.note(data.record))
    return b.section("summary", "Executive summary", blocks)


def _severity_counts(findings: Sequence[FindingItem]) -> str:
    if not findings:
        return "none"
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return ", ".join(f"{count} {severity}" for severity, count in sorted(counts.items()))


def _scope_blocks(data: ValidationReportInput) -> list[dict[str, Any]]:
    model = data.model
    rows = [
        ("Model", model.label),
        ("Purpose", model.purpose or "—"),
        ("Owner", f"{model.owner or '—'} ({model.team or 'no team'})"),
        ("Lifecycle status", model.lifecycle_status or "—"),
        ("Target environment", data.environment or "—"),
        ("Policy", data.policy or "—"),
        ("Artifact SHA-256", model.artifact_sha256 or "—", "hash"),
    ]
    blocks = [b.facts(rows), b.text(data.scope)]
    if model.description:
        blocks += [b.heading("Model description"), b.text(model.description)]
    return blocks


def _soundness_blocks(data: ValidationReportInput) -> list[dict[str, Any]]:
    """Each statement under its title; its text is Markdown (a memo as written, other text quoted)."""
    if not data.conceptual_soundness:
        return [b.note("No conceptual-soundness evidence was supplied.")]
    blocks: list[dict[str, Any]] = []
    for statement in data.conceptual_soundness:
        blocks += [b.heading(statement.title), b.markdown(statement.text)]
        if statement.reference:
            blocks.append(b.note(f"Reference: {statement.reference}"))
    return blocks


def _quality_blocks(data: ValidationReportInput) -> list[dict[str, Any]]:
    """The data-quality run's judged issues (the signed evidence's run), worst first."""
    if not data.data_quality_run:
        return [b.heading("Data quality"), b.note("No data-quality evidence was supplied.")]
    return [
        b.heading("Data quality"),
        b.note(f"{data.data_quality_run}."),
        b.table_block(_metrics_table(data.data_quality)),
    ]


def _scoring_section(data: ValidationReportInput, evidence, key: str, title: str, blocks, specs) -> list:
    """A section of a scoring model's evidence. An LLM application has no scores, groups or features to
    judge them by: its report leaves the section out unless such evidence was supplied, rather than
    printing "no evidence" where none could be expected (its own sections say what was judged)."""
    if data.llm_application is not None and not evidence:
        return []
    return [b.section(key, title, blocks(evidence, specs))]


def _llm_evaluation_section(data: ValidationReportInput) -> list[dict[str, Any]]:
    """The LLM evaluation run's judged metrics, worst first; no section for a model without one."""
    if not data.llm_evaluation_run:
        return []
    blocks = [b.note(f"{data.llm_evaluation_run}."), b.table_block(_metrics_table(data.llm_evaluation))]
    return [b.section("llm-evaluation", "LLM evaluation", blocks)]


def _data_blocks(datasets: Sequence[DatasetProfile]) -> list[dict[str, Any]]:
    if not datasets:
        return [b.note("No dataset profiles were supplied.")]
    overview = table(
        ["Dataset", "Version", "Role", "Rows", "SHA-256"],
        [(d.name, d.version, d.role, number(d.rows), d.sha256) for d in datasets],
        widths=[24, 9, 14, 11, 42],
        classes=["", "num", "", "num", "hash"],
    )
    blocks = [b.table_block(overview)]
    for index, dataset in enumerate(datasets):
        blocks.append(
            b.heading(f"{dataset.name} v{dataset.version} ({dataset.role})", b.anchor("data", str(index)))
        )
        columns = table(
            ["Column", "Type", "Missing", "Profile"],
            [(c.name, c.dtype, percent(c.missing_share), c.summary) for c in dataset.columns],
            widths=[24, 12, 10, 54],
            classes=["", "", "num", ""],
            empty="No column profile.",
        )
        blocks.append(b.table_block(columns))
    return blocks


def _performance_blocks(evidence: PerformanceEvidence | None, specs: list[ChartSpec]) -> list[dict[str, Any]]:
    if evidence is None:
        return [b.note("No performance evidence was supplied.")]
    blocks = [
        b.note(f"Evaluated on {evidence.dataset}."),
        b.table_block(_metrics_table(evidence.metrics)),
    ]
    if evidence.confusion_matrix:
        spec = _add(
            specs,
            charts.spec(
                "confusion-matrix",
                charts.confusion_matrix_chart,
                evidence.confusion_matrix,
                evidence.class_labels,
            ),
        )
        blocks += [
            b.heading("Confusion matrix"),
            b.chart(spec, "Confusion matrix: actual classes down, predicted across."),
        ]
    curves = []
    if evidence.roc_fpr:
        spec = _add(
            specs, charts.spec("roc", charts.roc_chart, evidence.roc_fpr, evidence.roc_tpr, auc=evidence.auc)
        )
        curves.append((spec, "ROC curve against the chance diagonal."))
    if evidence.calibration_predicted:
        spec = _add(
            specs,
            charts.spec(
                "calibration",
                charts.calibration_chart,
                evidence.calibration_predicted,
                evidence.calibration_observed,
            ),
        )
        curves.append((spec, "Calibration: observed frequency against mean predicted probability."))
    if curves:
        blocks += [b.heading("Discrimination and calibration"), b.chart_row(*curves)]
    return blocks


def _metrics_table(metrics: Sequence[MetricResult]) -> dict[str, Any]:
    return table(
        ["Metric", "Value", "Threshold", "Outcome"],
        [
            (m.name, number(m.value), _threshold(m.comparison, m.threshold), outcome_label(m.outcome))
            for m in metrics
        ],
        widths=[40, 20, 20, 20],
        classes=["", "num", "num", ""],
    )


def _threshold(comparison: str, threshold: float | None) -> str:
    return "—" if threshold is None else f"{comparison} {number(threshold)}".strip()


def _fairness_blocks(items: Sequence[FairnessEvidence], specs: list[ChartSpec]) -> list[dict[str, Any]]:
    if not items:
        return [b.note("No fairness evidence was supplied.")]
    blocks: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        name = b.anchor("fairness", str(index), item.metric)
        title = f"{item.metric} by {item.sensitive_feature}"
        side = "at least" if item.higher_is_better else "at most"
        small = {group: item.group_sizes.get(group, 0) for group in item.not_judged if group in item.groups}
        spec = _add(
            specs,
            charts.spec(
                name,
                charts.fairness_chart,
                item.metric,
                item.groups,
                threshold=item.threshold,
                higher_is_better=item.higher_is_better,
                not_judged=small,
                min_group_size=item.min_group_size,
            ),
        )
        rows = [
            (group, number(value), number(item.group_sizes.get(group)), _meets(item, group, value))
            for group, value in item.groups.items()
        ]
        caption = f"{title}; dashed line: threshold {number(item.threshold)}."
        if small:
            caption += f" Grey hatched bars: {_too_small(item)}, shown but not judged."
        blocks += [
            b.heading(title, name),
            b.note(
                f"Outcome: {outcome_label(item.outcome)}. Each group must be {side} {number(item.threshold)}."
            ),
            b.chart(spec, caption),
            b.table_block(
                table(
                    ["Group", item.metric, "Rows", "Meets threshold"],
                    rows,
                    widths=[34, 22, 22, 22],
                    classes=["", "num", "num", ""],
                )
            ),
        ]
    return blocks


def _meets(item: FairnessEvidence, group: str, value: float | None) -> str:
    """``yes``/``no`` for a judged group; a group below the minimum size is said to be not judged."""
    if group in item.not_judged:
        rows = item.group_sizes.get(group)
        minimum = f" < min_group_size {item.min_group_size}" if item.min_group_size is not None else ""
        return f"not judged: {number(rows)} rows{minimum}"
    if value is None:
        return "no value"
    passed = value >= item.threshold if item.higher_is_better else value <= item.threshold
    return "yes" if passed else "no"


def _too_small(item: FairnessEvidence) -> str:
    if item.min_group_size is None:
        return "groups too small to judge"
    return f"groups of fewer than {item.min_group_size} rows"


def _explainability_blocks(
    evidence: ExplainabilityEvidence | None, specs: list[ChartSpec]
) -> list[dict[str, Any]]:
    if evidence is None:
        return [b.note("No explainability evidence was supplied.")]
    rows_note = f" on {evidence.rows_explained} rows" if evidence.rows_explained else ""
    bar = _add(specs, charts.spec("shap-bar", charts.shap_bar_chart, evidence.mean_abs_shap))
    blocks = [b.note(f"Method: {evidence.method}{rows_note}."), b.heading("Judgements")]
    if evidence.judgements:
        blocks.append(b.table_block(_metrics_table(evidence.judgements)))
    else:
        blocks.append(b.note("The run judged nothing: it states no sensitive-share or stability result."))
    blocks += [b.text(statement) for statement in evidence.statements]
    if evidence.threshold_sources:
        blocks += [b.note("Thresholds applied:"), b.bullet_list(evidence.threshold_sources)]
    blocks += [
        b.heading("Global importance"),
        b.chart(bar, "Mean absolute SHAP value per feature."),
    ]
    if evidence.beeswarm:
        swarm = _add(specs, charts.spec("shap-beeswarm", charts.shap_beeswarm_chart, evidence.beeswarm))
        blocks += [
            b.heading("Distribution of effects"),
            b.chart(
                swarm,
                f"SHAP beeswarm: one dot per row (at most {charts.BEESWARM_POINTS_PER_FEATURE} per feature, evenly spaced by rank), coloured by feature value.",
            ),
        ]
    ranked = sorted(evidence.mean_abs_shap.items(), key=lambda item: -item[1])
    blocks.append(
        b.table_block(
            table(
                ["Feature", "mean(|SHAP|)"],
                [(k, number(v)) for k, v in ranked],
                widths=[70, 30],
                classes=["", "num"],
            )
        )
    )
    return blocks


def _stability_blocks(evidence: StabilityEvidence | None, specs: list[ChartSpec]) -> list[dict[str, Any]]:
    if evidence is None:
        return [b.note("No drift evidence was supplied.")]
    psi = {f.feature: f.psi for f in evidence.features if f.psi is not None}
    spec = _add(specs, charts.spec("psi", charts.psi_chart, psi, warn=evidence.warn, alert=evidence.alert))
    blocks = [
        b.note(f"Reference: {evidence.reference}. Current: {evidence.current}."),
        *([b.table_block(_metrics_table(evidence.dataset_metrics))] if evidence.dataset_metrics else []),
        b.chart(
            spec,
            f"PSI per feature; dashed lines at {number(evidence.warn)} (moderate) and {number(evidence.alert)} (significant shift).",
        ),
    ]
    drifted = _most_drifted(evidence)
    if drifted:
        spec = _add(specs, charts.spec("distributions", charts.distributions_chart, drifted))
        names = ", ".join(d.feature for d in drifted)
        blocks += [
            b.heading("Most drifted features"),
            b.chart(spec, f"Reference and current distributions: {names}."),
        ]
    rows = [
        (
            f.feature,
            number(f.psi),
            f.statistic or "—",
            number(f.statistic_value),
            number(f.p_value),
            "yes" if f.drifted else "no",
        )
        for f in evidence.features
    ]
    columns = ["Feature", "PSI", "Test", "Statistic", "p-value", "Drift"]
    blocks.append(
        b.table_block(
            table(columns, rows, widths=[30, 12, 16, 14, 14, 14], classes=["", "num", "", "num", "num", ""])
        )
    )
    return blocks


def _most_drifted(evidence: StabilityEvidence) -> list[Distribution]:
    psi = {f.feature: f.psi or 0.0 for f in evidence.features}
    ranked = sorted(evidence.distributions, key=lambda d: (-psi.get(d.feature, 0.0), d.feature))
    return ranked[:MOST_DRIFTED]


def _findings_blocks(findings: Sequence[FindingItem]) -> list[dict[str, Any]]:
    rows = [(f.finding_id, f.severity, f.title, f.status, f.owner or "—", _date(f.due)) for f in findings]
    return [
        b.table_block(
            table(
                ["Id", "Severity", "Finding", "Status", "Owner", "Due"],
                rows,
                widths=[10, 11, 41, 12, 14, 12],
                empty="No findings were raised.",
            )
        )
    ]


def _date(day) -> str:
    return day.isoformat() if day else "—"


def _approval_blocks(data: ValidationReportInput) -> list[dict[str, Any]]:
    if not data.approvals:
        return [b.note("No signatures have been recorded.")]
    rows = [
        (
            s.stage or "—",
            s.printed_name,
            s.meaning,
            s.decision,
            utc_text(s.signed_at),
            _digest_match(s, data.evidence_digest),
        )
        for s in data.approvals
    ]
    blocks = [
        b.note(
            "Each electronic signature shows the signer's printed name, the date and time (UTC) and the meaning "
            "of the signature (21 CFR 11.50), and binds them to the evidence digest."
        ),
        b.table_block(
            table(
                ["Stage", "Printed name", "Meaning", "Decision", "Signed (UTC)", "Digest signed"],
                rows,
                widths=[13, 19, 13, 11, 24, 20],
            )
        ),
    ]
    details = [
        (s.printed_name, ", ".join(s.roles) or "—", s.authentication or "—", s.comment or "—")
        for s in data.approvals
    ]
    blocks.append(
        b.table_block(
            table(
                ["Signer", "Roles at signing", "Re-authentication", "Comment"],
                details,
                widths=[20, 20, 20, 40],
            )
        )
    )
    return blocks


def _digest_match(signature: SignatureItem, evidence_digest: str) -> str:
    if not signature.digest:
        return "—"
    if signature.digest_note:
        return signature.digest_note
    if signature.digest == evidence_digest:
        return "matches the approved manifest"
    return f"a different manifest ({signature.digest})"


def _later_section(later: LaterEvidence | None) -> list[dict[str, Any]]:
    """Evidence after approval, apart from what was signed; no section when nothing came later."""
    if later is None:
        return []
    blocks = [
        b.note(
            f"{later.title[:1].upper()}{later.title[1:]}. None of it is part of the signed manifest above; it is "
            "listed so that a reader sees what changed since the signatures."
        )
    ]
    if later.material:
        blocks.append(b.heading("Material changes"))
        blocks.append(b.bullet_list(list(later.material)))
    if later.runs:
        rows = [
            (run_id, kind, outcome_label(outcome), utc_text(at), reason or "—")
            for run_id, kind, outcome, at, reason in later.runs
        ]
        blocks.append(
            b.table_block(
                table(
                    ["Run", "Kind", "Outcome", "Finished (UTC)", "Why"],
                    rows,
                    widths=[8, 14, 11, 22, 45],
                    classes=["num", "", "", "", ""],
                )
            )
        )
    if later.documents:
        rows = [(title, kind, utc_text(at), sha) for title, kind, at, sha in later.documents]
        blocks.append(
            b.table_block(
                table(
                    ["Document", "Type", "Added (UTC)", "SHA-256"],
                    rows,
                    widths=[28, 20, 20, 32],
                    classes=["", "", "", "hash"],
                )
            )
        )
    return [b.section("later", "Evidence after approval", blocks)]


def _evidence_blocks(evidence: Sequence[EvidenceItem]) -> list[dict[str, Any]]:
    rows = [(e.name, e.kind, e.sha256, number(e.size), e.uri or "—") for e in evidence]
    return [
        b.table_block(
            table(
                ["Document", "Kind", "SHA-256", "Bytes", "URI"],
                rows,
                widths=[22, 12, 34, 10, 22],
                classes=["", "", "hash", "num", ""],
                empty="No evidence documents were supplied.",
            )
        )
    ]


def _control_blocks(controls: Sequence[ControlStatus]) -> list[dict[str, Any]]:
    counts = {
        status: sum(1 for c in controls if c.status == status)
        for status in ("satisfied", "not-satisfied", "not-assessed")
    }
    rows = [
        (c.control_id, c.framework or "—", c.title, c.status, ", ".join(c.evidence) or "—") for c in controls
    ]
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    return [
        b.note(f"Controls from the catalogue that the policy maps to this model: {summary}."),
        b.table_block(
            table(
                ["Control", "Framework", "Title", "Status", "Evidence"],
                rows,
                widths=[13, 15, 34, 14, 24],
                empty="No controls are mapped.",
            )
        ),
    ]


def _add(specs: list[ChartSpec], spec: ChartSpec) -> ChartSpec:
    specs.append(spec)
    return spec
