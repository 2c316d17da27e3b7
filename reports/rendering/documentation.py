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
from reports.rendering import llm
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
from reports.rendering.llm import LlmApplicationEvidence
from reports.rendering.pdf import DEFAULT_TIME_LIMIT
from workflow.annex_iv import ANNEX_IV, AnnexItem, AnnexSection

KIND = "documentation"


@dataclass(frozen=True, kw_only=True)
class ItemState:
    """An item's status as ``workflow.services.annex_iv.annex_iv_status`` judged it (the one function
    every document reads): ``supplied``, ``partial`` or ``missing``, the sources present and what would
    supply it."""

    status: str
    present: Sequence[str] = ()
    needed: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class ChangeEntry:
    """One version in the model's history and what changed."""

    version: int
    released: date | None
    description: str


@dataclass(frozen=True, kw_only=True)
class DocumentationInput:
    """What the Annex IV document shows.

    ``answers`` maps item keys of :data:`ANNEX_IV` (``"1a"`` ... ``"9"``) to free text, as Markdown
    source (rendered sanitised, headings below the item's; quote plain text with
    ``workflow.markdown.literal`` to print it as typed). Structured data
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
    performance_metrics: Sequence[MetricResult] = ()
    record: str = ""
    llm_application: LlmApplicationEvidence | None = None
    states: Mapping[str, ItemState] = field(default_factory=dict)

    def state(self, key: str) -> ItemState:
        return self.states.get(key) or ItemState(status="missing")


def missing_items(data: DocumentationInput) -> list[AnnexItem]:
    """The Annex IV items not supplied (missing or partial), in Annex order, as ``states`` says."""
    return [
        item for section in ANNEX_IV for item in section.items if data.state(item.key).status != "supplied"
    ]


def build_documentation_pdf(
    data: DocumentationInput, *, time_limit: float = DEFAULT_TIME_LIMIT
) -> RenderedReport:
    """Render the Annex IV technical documentation of ``data.model``, listing what is still missing."""
    missing = missing_items(data)
    total = sum(len(section.items) for section in ANNEX_IV)
    sections = [_missing_section(data, missing), *(_annex_section(data, section) for section in ANNEX_IV)]
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
                "Completeness",
                f"{total - len(missing)} of {total} items supplied; {len(missing)} not supplied",
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


def _missing_section(data: DocumentationInput, missing: Sequence[AnnexItem]) -> dict[str, Any]:
    blocks = [b.note(data.record)] if data.record else []
    if not missing:
        blocks.append(b.note("Every Annex IV item has been supplied."))
        return b.section("missing", "What is still missing", blocks)
    rows = [
        (item.number, item.label, data.state(item.key).status, "; or ".join(data.state(item.key).needed))
        for item in missing
    ]
    partial = sum(1 for item in missing if data.state(item.key).status == "partial")
    blocks += [
        b.note(
            f"{len(missing)} Annex IV items are not supplied: {len(missing) - partial} missing, {partial} "
            "partly supplied. The validation report's EU AI Act controls read the same statuses."
        ),
        b.table_block(table(["Item", "Topic", "Status", "Supplied by"], rows, widths=[8, 24, 11, 57])),
    ]
    return b.section("missing", "What is still missing", blocks)


def _annex_section(data: DocumentationInput, section: AnnexSection) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for item in section.items:
        state = data.state(item.key)
        blocks.append(b.heading(f"{item.number} {item.label}", f"annex-{item.key}"))
        blocks.append(b.note(item.requirement))
        blocks.append(_status_line(state))
        blocks.extend(_item_blocks(data, item))
    return b.section(f"annex-section-{section.number}", f"{section.number}. {section.title}", blocks)


def _status_line(state: ItemState) -> dict[str, Any]:
    if state.status == "supplied":
        return b.note(f"Supplied by {', '.join(state.present)}.")
    needed = "; or ".join(state.needed)
    if state.status == "partial":
        text = f"Partly supplied: {', '.join(state.present)} present; still needed: {needed}."
    else:
        text = f"Missing: nothing has been supplied for this item; it needs {needed}."
    return b.bullet_list([text], css_class="missing")


def _item_blocks(data: DocumentationInput, item: AnnexItem) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    answer = data.answers.get(item.key, "").strip()
    if answer:
        blocks.append(b.markdown(answer))
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
    if data.llm_application is not None:
        blocks += [b.heading("Judged evaluations"), *llm.judged_blocks(data.llm_application)]
        blocks += [b.heading("Red-team results"), *llm.red_team_blocks(data.llm_application)]
    return blocks


def _bundle(data: DocumentationInput) -> list[dict[str, Any]]:
    if data.llm_application is None:
        return []
    return [b.heading("LLM application bundle"), *llm.bundle_blocks(data.llm_application)]


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
    blocks = [b.bullet_list(data.monitoring_plan)] if data.monitoring_plan else []
    if data.llm_application is not None:
        blocks += [b.heading("Production telemetry"), *llm.telemetry_blocks(data.llm_application)]
    return blocks


def _performance(data: DocumentationInput) -> list[dict[str, Any]]:
    return [b.table_block(_metric_table(data.performance_metrics))] if data.performance_metrics else []


_STRUCTURED = {
    "1a": _purpose,
    "4": _performance,
    "2b": _bundle,
    "2d": _datasets,
    "2g": _validation,
    "3a": _groups,
    "6": _changes,
    "7": _standards,
    "9": _monitoring,
}
