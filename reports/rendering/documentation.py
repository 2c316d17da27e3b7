"""Model documentation following the EU AI Act, Annex IV (technical documentation, Article 11(1)).

The report walks the nine sections of Annex IV item by item. Each item shows what was supplied (free
text from :attr:`DocumentationInput.answers` and, where the registry already knows it, structured data:
datasets, metrics, changes between versions, standards, monitoring plan) and marks every item with
nothing supplied as missing. The missing items are listed together right after the contents, and their
count is on the cover, so the document doubles as a completeness checklist.

A service fills :class:`DocumentationInput` from the model, its versions, datasets, check runs and the
documentation answers stored for the model; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reports.rendering import blocks as b
from reports.rendering.common import (
    RenderedReport,
    build_report,
    date_text,
    number,
    outcome_label,
    table,
    tier_text,
    utc_text,
)
from reports.rendering.inputs import (
    DatasetProfile,
    DocumentInfo,
    EvidenceItem,
    MetricResult,
    ModelInfo,
)
from reports.rendering.pdf import DEFAULT_TIME_LIMIT

KIND = "documentation"


@dataclass(frozen=True)
class AnnexItem:
    """One requirement of Annex IV: its key (``"2d"``), a short label and the requirement, paraphrased."""

    key: str
    label: str
    requirement: str


@dataclass(frozen=True)
class AnnexSection:
    """One of the nine numbered sections of Annex IV."""

    number: int
    title: str
    items: tuple[AnnexItem, ...]


def _item(key: str, label: str, requirement: str) -> AnnexItem:
    return AnnexItem(key, label, requirement)


ANNEX_IV: tuple[AnnexSection, ...] = (
    AnnexSection(1, "General description of the AI system", (
        _item("1a", "Intended purpose, provider and version", "Intended purpose, name of the provider, version and its relation to previous versions."),
        _item("1b", "Interaction with other hardware and software", "How the system interacts with hardware or software, including other AI systems, that are not part of it."),
        _item("1c", "Software and firmware versions", "Versions of relevant software or firmware and requirements related to version updates."),
        _item("1d", "Forms placed on the market", "All forms in which the system is placed on the market or put into service (packages, downloads, APIs)."),
        _item("1e", "Hardware", "The hardware on which the system is intended to run."),
        _item("1f", "Product integration", "Where the system is a component of products: external features, marking and internal layout."),
        _item("1g", "User interface", "A basic description of the user interface provided to the deployer."),
        _item("1h", "Instructions for use", "Instructions for use for the deployer."),
    )),
    AnnexSection(2, "Elements of the AI system and its development", (
        _item("2a", "Development methods and steps", "Methods and steps of development, including use of pre-trained systems or third-party tools."),
        _item("2b", "Design specifications", "General logic, key design choices and assumptions, what the system optimises for, expected output and trade-offs."),
        _item("2c", "System architecture and resources", "How software components build on each other; computational resources for development, training, testing, validation."),
        _item("2d", "Data requirements", "Datasheets: training data sets, provenance, scope, characteristics, how obtained and selected, labelling, cleaning."),
        _item("2e", "Human oversight assessment", "Assessment of the human oversight measures (Article 14) and of measures to interpret outputs (Article 13(3)(d))."),
        _item("2f", "Pre-determined changes", "Pre-determined changes to the system and its performance, and how continuous compliance is ensured."),
        _item("2g", "Validation and testing", "Validation and testing procedures and data; metrics for accuracy, robustness, discriminatory impact; signed test reports."),
        _item("2h", "Cybersecurity measures", "Cybersecurity measures put in place."),
    )),
    AnnexSection(3, "Monitoring, functioning and control", (
        _item("3a", "Capabilities and limitations", "Capabilities and limitations in performance, including accuracy for specific persons or groups and overall."),
        _item("3b", "Foreseeable unintended outcomes", "Foreseeable unintended outcomes and sources of risk to health, safety, fundamental rights and discrimination."),
        _item("3c", "Human oversight measures", "Human oversight measures (Article 14), including technical measures to interpret outputs."),
        _item("3d", "Input data specifications", "Specifications on input data, as appropriate."),
    )),
    AnnexSection(4, "Appropriateness of the performance metrics", (
        _item("4", "Performance metrics", "Why the performance metrics are appropriate for this system."),
    )),
    AnnexSection(5, "Risk management system", (
        _item("5", "Risk management system", "The risk management system in accordance with Article 9."),
    )),
    AnnexSection(6, "Changes through the lifecycle", (
        _item("6", "Relevant changes", "Relevant changes made by the provider to the system through its lifecycle."),
    )),
    AnnexSection(7, "Standards applied", (
        _item("7", "Harmonised standards and other specifications", "Harmonised standards applied, or the solutions adopted to meet Chapter III, Section 2, and other standards applied."),
    )),
    AnnexSection(8, "EU declaration of conformity", (
        _item("8", "Declaration of conformity", "A copy of the EU declaration of conformity (Article 47)."),
    )),
    AnnexSection(9, "Post-market monitoring", (
        _item("9", "Post-market monitoring plan", "The system to evaluate performance after placing on the market (Article 72), including the monitoring plan."),
    )),
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ChangeEntry:
    """One version in the model's history and what changed."""

    version: int
    released: date | None
    description: str


@dataclass(frozen=True, kw_only=True)
class DocumentationInput:
    """What the Annex IV document shows.

    ``answers`` maps item keys of :data:`ANNEX_IV` (``"1a"`` ... ``"9"``) to free text. Structured data
    counts as supplied for its item: ``datasets`` for 2(d), ``validation_metrics`` and ``test_reports``
    for 2(g), ``group_metrics`` for 3(a), ``changes`` for 6, ``standards`` for 7, ``monitoring_plan``
    for 9; the model's purpose for 1(a).
    """

    document: DocumentInfo
    model: ModelInfo
    provider: str
    answers: Mapping[str, str] = field(default_factory=dict)
    datasets: Sequence[DatasetProfile] = ()
    validation_metrics: Sequence[MetricResult] = ()
    group_metrics: Sequence[MetricResult] = ()
    test_reports: Sequence[EvidenceItem] = ()
    changes: Sequence[ChangeEntry] = ()
    standards: Sequence[str] = ()
    monitoring_plan: Sequence[str] = ()


def missing_items(data: DocumentationInput) -> list[AnnexItem]:
    """The Annex IV items with neither an answer nor structured data, in Annex order."""
    return [item for section in ANNEX_IV for item in section.items if not _item_blocks(data, item)]


def build_documentation_pdf(
    data: DocumentationInput, *, time_limit: float = DEFAULT_TIME_LIMIT
) -> RenderedReport:
    """Render the Annex IV technical documentation of ``data.model``, listing what is still missing."""
    missing = missing_items(data)
    total = sum(len(section.items) for section in ANNEX_IV)
    sections = [_missing_section(missing), *(_annex_section(data, section) for section in ANNEX_IV)]
    title = f"Technical documentation: {data.model.label}"
    context = {
        "doc": {
            "title": title,
            "kind_label": "EU AI Act Annex IV technical documentation",
            "subtitle": data.model.title or data.model.name,
            "running": f"{data.model.label} · Annex IV documentation",
        },
        "cover": [
            b.fact("Document id", data.document.document_id, "document-id"),
            b.fact("Model", data.model.name),
            b.fact("Version", str(data.model.version)),
            b.fact("Provider", data.provider),
            b.fact("Risk tier", tier_text(data.model.risk_tier)),
            b.fact("EU AI Act category", data.model.eu_ai_act_category or "—"),
            b.fact(
                "Completeness", f"{total - len(missing)} of {total} items supplied; {len(missing)} missing"
            ),
            b.fact("Generated", utc_text(data.document.generated_at)),
            b.fact("Generated by", data.document.generated_by),
        ],
        "toc": b.contents(sections),
        "sections": sections,
    }
    return build_report(
        kind=KIND,
        subject=f"model {data.model.label}",
        data=data,
        document=data.document,
        template="reports/pdf/report.html",
        context=context,
        keywords=(data.model.name, "EU AI Act", "Annex IV"),
        time_limit=time_limit,
    )


def _missing_section(missing: Sequence[AnnexItem]) -> dict[str, Any]:
    if not missing:
        return b.section(
            "missing", "What is still missing", [b.note("Every Annex IV item has been supplied.")]
        )
    rows = [(_item_number(item), item.label, item.requirement) for item in missing]
    return b.section(
        "missing",
        "What is still missing",
        [
            b.note(f"{len(missing)} Annex IV items have nothing supplied yet."),
            b.table_block(table(["Item", "Topic", "Requirement"], rows, widths=[9, 26, 65])),
        ],
    )


def _annex_section(data: DocumentationInput, section: AnnexSection) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for item in section.items:
        content = _item_blocks(data, item)
        blocks.append(b.heading(f"{_item_number(item)} {item.label}", f"annex-{item.key}"))
        blocks.append(b.note(item.requirement))
        blocks.extend(
            content
            or [b.bullet_list(["Missing: nothing has been supplied for this item."], css_class="missing")]
        )
    return b.section(f"annex-section-{section.number}", f"{section.number}. {section.title}", blocks)


def _item_number(item: AnnexItem) -> str:
    return f"{item.key[0]}({item.key[1:]})" if len(item.key) > 1 else item.key


def _item_blocks(data: DocumentationInput, item: AnnexItem) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    answer = data.answers.get(item.key, "").strip()
    if answer:
        blocks.append(b.text(answer))
    structured = _STRUCTURED.get(item.key)
    if structured is not None:
        blocks.extend(structured(data))
    return blocks


def _purpose(data: DocumentationInput) -> list[dict[str, Any]]:
    if not data.model.purpose:
        return []
    rows = [
        ("Intended purpose", data.model.purpose),
        ("Provider", data.provider),
        ("Version", str(data.model.version)),
    ]
    return [b.facts(rows)]


def _datasets(data: DocumentationInput) -> list[dict[str, Any]]:
    if not data.datasets:
        return []
    rows = [(d.name, d.version, d.role, number(d.rows), d.sha256) for d in data.datasets]
    columns = ["Dataset", "Version", "Role", "Rows", "SHA-256"]
    return [
        b.table_block(
            table(columns, rows, widths=[24, 9, 14, 11, 42], classes=["", "num", "", "num", "hash"])
        )
    ]


def _validation(data: DocumentationInput) -> list[dict[str, Any]]:
    blocks = []
    if data.validation_metrics:
        blocks.append(b.table_block(_metric_table(data.validation_metrics)))
    if data.test_reports:
        rows = [(e.name, e.kind, e.sha256) for e in data.test_reports]
        blocks.append(
            b.table_block(
                table(["Test report", "Kind", "SHA-256"], rows, widths=[35, 15, 50], classes=["", "", "hash"])
            )
        )
    return blocks


def _groups(data: DocumentationInput) -> list[dict[str, Any]]:
    return [b.table_block(_metric_table(data.group_metrics))] if data.group_metrics else []


def _metric_table(metrics: Sequence[MetricResult]) -> dict[str, Any]:
    rows = [
        (m.name, number(m.value), f"{m.comparison} {number(m.threshold)}".strip(), outcome_label(m.outcome))
        for m in metrics
    ]
    return table(
        ["Metric", "Value", "Threshold", "Outcome"],
        rows,
        widths=[40, 20, 20, 20],
        classes=["", "num", "", ""],
    )


def _changes(data: DocumentationInput) -> list[dict[str, Any]]:
    if not data.changes:
        return []
    rows = [(c.version, date_text(c.released), c.description) for c in data.changes]
    return [
        b.table_block(
            table(["Version", "Released", "Change"], rows, widths=[10, 16, 74], classes=["num", "", ""])
        )
    ]


def _standards(data: DocumentationInput) -> list[dict[str, Any]]:
    return [b.bullet_list(data.standards)] if data.standards else []


def _monitoring(data: DocumentationInput) -> list[dict[str, Any]]:
    return [b.bullet_list(data.monitoring_plan)] if data.monitoring_plan else []


_STRUCTURED = {
    "1a": _purpose,
    "2d": _datasets,
    "2g": _validation,
    "3a": _groups,
    "6": _changes,
    "7": _standards,
    "9": _monitoring,
}
