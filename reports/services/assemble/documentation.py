"""The Annex IV documentation's input: what the registry already knows, item by item.

Sources, per item (anything else stays missing and is listed as such in the document):

* inventory fields: 1(a) purpose and intended use, 1(b) deployment context, 3(a) limitations,
  3(b) out-of-scope use and affected persons;
* the version: 1(c) framework and artifact format, 2(a) source repository, commit and training run,
  2(b) parameters, 3(d) input signature;
* the registry and governance records: 2(d) datasets (lineage, profiles), 2(g) the latest validation
  runs' judged metrics and the signed validation reports, 3(a) per-group fairness metrics, 5 the risk
  tier and policy, 6 every version of the model, 7 the catalogue frameworks with satisfied controls,
  9 the monitoring plans;
* evidence documents by type: conceptual-soundness memo 2(b), data review 2(d), model documentation
  2(a), risk assessment 5, standards statement 7, declaration of conformity 8;
* model tags ``annex_iv.<item>`` (e.g. ``annex_iv.2e``), for anything the registry has no field for.
"""

from __future__ import annotations

from typing import Any

from monitoring import results
from monitoring.models import MonitoringPlan
from registry.models import ModelVersion
from reports.models import JobStatus, Report, ReportKind
from reports.rendering.documentation import ChangeEntry, DocumentationInput, ItemState, missing_items
from reports.rendering.inputs import EvidenceItem, MetricResult
from reports.services.assemble import common, llm
from reports.services.assemble.validation import document_text, metric_result, record_statement
from workflow import markdown
from workflow.annex_iv import ANNEX_IV
from workflow.models import EvidenceDocument, Policy
from workflow.services.annex_iv import annex_iv_status

TAG_PREFIX = "annex_iv."
EVIDENCE_ITEMS = {
    "conceptual_soundness_memo": "2b",
    "data_review": "2d",
    "model_documentation": "2a",
    "risk_assessment": "5",
    "standards_statement": "7",
    "declaration_of_conformity": "8",
}


def documentation_input(report: Report) -> DocumentationInput:
    """Everything the Annex IV document of ``report.model_version`` shows."""
    version = report.model_version
    model = version.model
    evidence = common.described_evidence(report)
    runs = sorted(evidence.runs, key=lambda run: run.kind)
    return DocumentationInput(
        document=common.document_info(report, report.document_id),
        model=common.model_info(version),
        provider=model.vendor
        if model.is_third_party and model.vendor
        else (model.team.title or model.team.name),
        answers=answers(version, evidence.documents),
        datasets=common.dataset_profiles(version),
        validation_metrics=[metric_result(item) for run in runs for item in results.evaluations_of(run)],
        group_metrics=_group_metrics(runs),
        performance_metrics=[
            metric_result(item)
            for run in runs
            if run.kind == "performance"
            for item in results.evaluations_of(run)
        ],
        test_reports=_test_reports(version),
        changes=_changes(version),
        standards=_standards(version, evidence),
        monitoring_plan=_plans(version),
        record=_record(evidence),
        llm_application=llm.llm_application_evidence(version, evidence),
        states=item_states(version, evidence),
    )


def _record(evidence) -> str:
    """Which signed record the document describes, and what came later (listed in the validation report)."""
    later = evidence.later_summary() if evidence.signed else ""
    if not later:
        return record_statement(evidence)
    return (
        f"{record_statement(evidence)} Evidence that arrived later ({later}) is not part of this document; "
        "the validation report lists it apart."
    )


def item_states(version: ModelVersion, evidence) -> dict[str, ItemState]:
    """Each item's status from ``annex_iv_status``, the function control coverage reads too."""
    return {
        status.item.key: ItemState(status=status.status, present=status.present, needed=status.needed)
        for status in annex_iv_status(version, evidence)
    }


def report_summary(data: DocumentationInput) -> dict[str, Any]:
    missing = [item.key for item in missing_items(data)]
    total = sum(len(section.items) for section in ANNEX_IV)
    partial = [key for key in missing if data.state(key).status == "partial"]
    return {"items": total, "supplied": total - len(missing), "missing": missing, "partial": partial}


def answers(version: ModelVersion, documents=None) -> dict[str, str]:
    """Free text per Annex IV item from the inventory, the version, evidence documents and tags.

    Each answer is Markdown source: an evidence document's text as :func:`document_text` gives it (a
    Markdown memo as written) under a heading with its title and digest (a heading, so that it stays with
    the text on a page break); every other text quoted with ``markdown.literal`` so that it prints as
    typed.
    """
    model = version.model
    found: dict[str, list[str]] = {}

    def add(key: str, text: str, *, source: bool = False) -> None:
        if text and text.strip():
            found.setdefault(key, []).append(text.strip() if source else markdown.literal(text.strip()))

    add("1a", _labelled("Intended use", model.intended_use))
    add("1b", model.deployment_context)
    add("1c", _software(version))
    add("2a", _provenance(version))
    add("2b", _labelled("Parameters", _pairs(version.parameters)))
    add("3a", _labelled("Limitations", model.limitations))
    add("3b", _labelled("Uses out of scope", model.out_of_scope_use))
    add("3b", _labelled("Affected persons", model.affected_persons))
    add("3d", _labelled("Inputs", _signature(version.signature)))
    add("5", _risk(version))
    if documents is None:
        documents = EvidenceDocument.objects.filter(model_version=version)
    for document in sorted(documents, key=lambda document: (document.uploaded_at, document.pk)):
        key = EVIDENCE_ITEMS.get(document.evidence_type_id)
        if key:
            heading = markdown.literal(f"{document.title} (SHA-256 {document.sha256})")
            add(key, f"# {heading}\n\n{document_text(document)}", source=True)
    for tag, value in sorted((model.tags or {}).items()):
        if tag.startswith(TAG_PREFIX):
            add(tag.removeprefix(TAG_PREFIX), str(value))
    return {key: "\n\n".join(texts) for key, texts in found.items()}


def _labelled(label: str, text: str) -> str:
    return f"{label}: {text.strip()}" if text and text.strip() else ""


def _pairs(values: dict[str, Any] | None) -> str:
    return ", ".join(f"{key} = {value}" for key, value in sorted((values or {}).items()))


def _software(version: ModelVersion) -> str:
    framework = " ".join(part for part in (version.framework, version.framework_version) if part)
    parts = [f"Artifact format: {version.get_artifact_format_display()}"]
    if version.is_bundle:
        model = (version.bundle.get("components") or {}).get("foundation_model") or {}
        named = " ".join(
            str(model.get(key, "")) for key in ("provider", "model_id", "version") if model.get(key)
        )
        parts = [
            f"LLM application bundle on {named or 'a foundation model'} (digest {version.artifact_sha256})"
        ]
    if framework:
        parts.insert(0, f"Framework: {framework}")
    return ". ".join(parts) + "."


def _provenance(version: ModelVersion) -> str:
    parts = []
    if version.source_repository:
        commit = f" at commit {version.source_commit}" if version.source_commit else ""
        parts.append(f"Built from {version.source_repository}{commit}.")
    if version.run_id or version.run_link:
        parts.append(f"Training run {version.run_id or ''} {version.run_link or ''}".strip() + ".")
    if version.description:
        parts.append(version.description)
    return " ".join(parts)


def _signature(signature: dict[str, Any] | None) -> str:
    inputs = (signature or {}).get("inputs") or []
    return ", ".join(
        f"{item.get('name', '?')} ({item.get('type', '?')})" if isinstance(item, dict) else str(item)
        for item in inputs
    )


def _risk(version: ModelVersion) -> str:
    model = version.model
    policy = Policy.objects.filter(tier=model.risk_tier, is_active=True).first()
    text = f"Risk tier {model.risk_tier} ({model.get_risk_tier_display()})"
    if model.tier_override is not None:
        text += f", overridden: {model.tier_override_reason}"
    text += "."
    if policy is not None:
        text += f" Governed by policy tier {policy.tier} v{policy.version} ({policy.name})."
    return text


def _group_metrics(runs) -> list[MetricResult]:
    fairness = [run for run in runs if run.kind == "fairness"]
    return [metric_result(item) for run in fairness for item in results.evaluations_of(run)]


def _test_reports(version: ModelVersion) -> list[EvidenceItem]:
    """Validation reports already generated for the version, by the SHA-256 of their PDF."""
    reports = Report.objects.filter(
        model_version=version, kind=ReportKind.VALIDATION, status=JobStatus.SUCCEEDED
    ).order_by("created_at", "pk")
    return [
        EvidenceItem(
            name=f"Validation report {report.document_id}", kind="validation report", sha256=report.sha256
        )
        for report in reports
    ]


def _changes(version: ModelVersion) -> list[ChangeEntry]:
    versions = ModelVersion.objects.filter(model=version.model, version__lte=version.version).order_by(
        "version"
    )
    return [
        ChangeEntry(
            version=item.version,
            released=item.created_at.date(),
            description=item.description
            or (
                f"LLM application bundle (digest {item.artifact_sha256})."
                if item.is_bundle
                else f"Artifact {item.artifact_filename} (SHA-256 {item.artifact_sha256})."
            ),
        )
        for item in versions
    ]


def _standards(version: ModelVersion, evidence) -> list[str]:
    """Catalogue frameworks with at least one control the version's signed evidence satisfies, and how many."""
    totals: dict[str, list[int]] = {}
    for control in common.control_statuses(version, evidence):
        counts = totals.setdefault(control.framework, [0, 0])
        counts[0] += control.status == "satisfied"
        counts[1] += 1
    return [
        f"{framework}: assessed against its {total} catalogue controls, {satisfied} satisfied"
        for framework, (satisfied, total) in sorted(totals.items())
        if satisfied
    ]


def _plans(version: ModelVersion) -> list[str]:
    plans = MonitoringPlan.objects.filter(model_version=version, deleted_at__isnull=True).order_by("pk")
    return [
        f"{plan}: {', '.join(check['kind'] for check in plan.checks)} on the newest production batch of "
        f"{plan.dataset.name}, {plan.schedule_text}, alerts on {plan.get_alert_on_display().lower()}"
        for plan in plans.select_related("dataset")
    ]
