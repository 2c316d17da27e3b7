"""Every kind of report, declared once: its name and title, its subject and period, who may ask, its variants,
the function that reads its inputs from the database and the builder that renders them.

``reports.services.report_kinds`` declares the kinds (it imports the assemblers and builders, so this
module, which the models and forms read, imports nothing of them). The request service checks a request
against its kind's declaration, the render service calls its assembler and builder, the model, forms,
filters and API take their choices and labels from here, and the report list hides the kinds whose
``action`` the user may not do. Adding a report kind is one :class:`ReportKindSpec` in that module plus its
assembler, builder and tests (docs/ARCHITECTURE.md, *Extension points*); the model stores the name
without database-level choices, so no migration is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Subjects: one model version; or a model and/or a period (the audit excerpt covers a whole model).
VERSION = "version"
MODEL_OR_PERIOD = "model_or_period"
# Periods: refused, required, or optional (a MODEL_OR_PERIOD report without a model still needs one).
NO_PERIOD = "none"
PERIOD_REQUIRED = "required"
PERIOD_OPTIONAL = "optional"
STANDARD = "standard"
NAME_LENGTH = 20  # Report.kind's max_length


@dataclass(frozen=True)
class ReportKindSpec:
    """One kind of report.

    ``assemble(report)`` returns the builder's input and the headline facts kept on the record;
    ``build(data)`` renders the PDF, ``build(data, variant=...)`` one of ``variants`` beyond the standard. ``action`` is what the
    requester must be allowed (``view`` on the version, or an action such as ``audit`` with no object);
    ``describes_approval`` fixes the approval of record on the request; ``variants`` are the formats
    offered beside the standard PDF's.
    """

    name: str
    label: str
    assemble: Callable[[Any], tuple[Any, dict[str, Any]]]
    build: Callable[..., Any]
    subject: str = VERSION
    period: str = NO_PERIOD
    action: str = "view"
    describes_approval: bool = False
    variants: tuple[str, ...] = (STANDARD,)

    def __post_init__(self) -> None:
        if not 0 < len(self.name) <= NAME_LENGTH:
            raise ValueError(f"report kind {self.name!r}: a name of 1 to {NAME_LENGTH} characters")
        if self.subject not in (VERSION, MODEL_OR_PERIOD):
            raise ValueError(f"report kind {self.name!r}: unknown subject {self.subject!r}")
        if self.period not in (NO_PERIOD, PERIOD_REQUIRED, PERIOD_OPTIONAL):
            raise ValueError(f"report kind {self.name!r}: unknown period rule {self.period!r}")


# Filled by register(); tests replace an entry with monkeypatch.setitem.
KINDS: dict[str, ReportKindSpec] = {}


def register(spec: ReportKindSpec) -> ReportKindSpec:
    """Declare a kind (once: a second declaration of the same name is a programming error)."""
    if spec.name in KINDS:
        raise ValueError(f"report kind {spec.name!r} is declared twice")
    KINDS[spec.name] = spec
    return spec


def get(name: str) -> ReportKindSpec:
    """The declaration of ``name``; KeyError for a kind nobody declared."""
    return KINDS[name]


def names() -> list[str]:
    """Every declared kind, in declaration order."""
    return list(KINDS)


def choices() -> list[tuple[str, str]]:
    """``(name, label)`` pairs for forms and filters (a callable, so they follow the declarations)."""
    return [(spec.name, spec.label) for spec in KINDS.values()]


def label(name: str) -> str:
    """The kind's title; the name itself for a kind no longer declared (an old record stays readable)."""
    spec = KINDS.get(name)
    return spec.label if spec is not None else name


def declared() -> list[ReportKindSpec]:
    """Every declaration, in declaration order."""
    return list(KINDS.values())
