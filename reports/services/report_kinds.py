"""The report kinds (``reports.kinds`` says what a declaration holds and who reads it).

Each entry names the kind's assembler (stored data in, the builder's input and the record's headline
facts out) and its builder (input in, PDF out). Adding a kind is adding one entry here.
"""

from __future__ import annotations

from typing import Any

from reports import kinds
from reports.kinds import MODEL_OR_PERIOD, PERIOD_OPTIONAL, PERIOD_REQUIRED, ReportKindSpec
from reports.models import Report, ReportKind, Variant
from reports.rendering.audit_evidence import build_audit_evidence_pdf
from reports.rendering.documentation import build_documentation_pdf
from reports.rendering.monitoring import build_monitoring_pdf
from reports.rendering.validation import build_validation_pdf
from reports.services.assemble import audit, documentation, monitoring, validation


def _validation(report: Report) -> tuple[Any, dict[str, Any]]:
    data = validation.validation_input(report)
    return data, validation.report_summary(data)


def _documentation(report: Report) -> tuple[Any, dict[str, Any]]:
    data = documentation.documentation_input(report)
    return data, documentation.report_summary(data)


def _monitoring(report: Report) -> tuple[Any, dict[str, Any]]:
    data = monitoring.monitoring_input(report)
    return data, monitoring.report_summary(data)


def _audit_evidence(report: Report) -> tuple[Any, dict[str, Any]]:
    data, excerpt = audit.audit_input(report)
    return data, audit.report_summary(excerpt)


VALIDATION = kinds.register(
    ReportKindSpec(
        name=ReportKind.VALIDATION,
        label="Validation report",
        assemble=_validation,
        build=build_validation_pdf,
        describes_approval=True,
        variants=(Variant.STANDARD, Variant.PDF_A_3B),
    )
)
DOCUMENTATION = kinds.register(
    ReportKindSpec(
        name=ReportKind.DOCUMENTATION,
        label="Model documentation (EU AI Act Annex IV)",
        assemble=_documentation,
        build=build_documentation_pdf,
        describes_approval=True,
    )
)
MONITORING = kinds.register(
    ReportKindSpec(
        name=ReportKind.MONITORING,
        label="Monitoring report",
        assemble=_monitoring,
        build=build_monitoring_pdf,
        period=PERIOD_REQUIRED,
    )
)
# The audit log's excerpt reproduces events of every team: it needs ``audit``, and covers a whole model.
AUDIT_EVIDENCE = kinds.register(
    ReportKindSpec(
        name=ReportKind.AUDIT_EVIDENCE,
        label="Audit evidence report",
        assemble=_audit_evidence,
        build=build_audit_evidence_pdf,
        subject=MODEL_OR_PERIOD,
        period=PERIOD_OPTIONAL,
        action="audit",
    )
)
