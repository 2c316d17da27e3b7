"""Plain input records shared by the report builders and the evidence exports, and their canonical JSON.

Only the standard library and ``rfc8785`` are imported here, so the CSV and OSCAL exports can use these
records without loading Django, matplotlib or WeasyPrint.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import rfc8785

# The format of the report inputs (these records and the ``*Input`` dataclasses built from them): the
# PDF names it beside ``attest-inputs-sha256``, and docs/schemas/report-inputs-*.json publish its
# JSON Schema. Inputs are not stored (only their digest), so there is nothing to upgrade on read; a
# change to their shape bumps the version so that equal digests keep meaning equal inputs.
FORMAT_VERSION = 2  # 2: the validator's authored document, the LLM evaluation and LLM application
FORMAT = f"attest-report-inputs/{FORMAT_VERSION}"

# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, kw_only=True)
class DocumentInfo:
    """Who made the document and when: ``generated_at`` (timezone-aware) is the PDF's date too."""

    document_id: str
    generated_at: datetime
    generated_by: str
    organisation: str = ""


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """The model version a document is about (inventory fields; free text is escaped when printed)."""

    name: str
    version: int
    title: str = ""
    description: str = ""
    purpose: str = ""
    owner: str = ""
    team: str = ""
    risk_tier: int | None = None
    lifecycle_status: str = ""
    eu_ai_act_category: str = ""
    artifact_sha256: str = ""

    @property
    def label(self) -> str:
        """``credit-default v7``: how headers and tables name the version."""
        return f"{self.name} v{self.version}"


@dataclass(frozen=True, kw_only=True)
class ColumnProfile:
    """One column of a dataset profile; ``summary`` is preformatted (range, quantiles or top values)."""

    name: str
    dtype: str
    missing_share: float | None = None
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class DatasetProfile:
    """A dataset version used as evidence, with its hash and per-column profile."""

    name: str
    version: int
    role: str
    sha256: str
    rows: int | None = None
    columns: Sequence[ColumnProfile] = ()


@dataclass(frozen=True, kw_only=True)
class MetricResult:
    """A metric against its threshold; ``outcome`` is ``pass``, ``warn``, ``fail`` or ``info``."""

    name: str
    value: float | None
    threshold: float | None = None
    comparison: str = ""  # e.g. ">=", "<="
    outcome: str = "info"


@dataclass(frozen=True, kw_only=True)
class FindingItem:
    """An open or closed finding as listed in reports."""

    finding_id: str
    severity: str
    title: str
    status: str
    owner: str = ""
    due: date | None = None
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class SignatureItem:
    """One e-signature (21 CFR Part 11 §11.50): printed name, UTC time and meaning are always shown."""

    printed_name: str
    meaning: str  # review, approval, responsibility
    decision: str
    signed_at: datetime
    stage: str = ""
    roles: Sequence[str] = ()
    comment: str = ""
    digest: str = ""
    authentication: str = ""
    digest_note: str = ""  # "matches the approved manifest", or how the manifest it signed differs


@dataclass(frozen=True, kw_only=True)
class EvidenceItem:
    """One evidence document or file, addressed by URI and SHA-256."""

    name: str
    kind: str
    sha256: str
    uri: str = ""
    size: int | None = None


@dataclass(frozen=True, kw_only=True)
class ControlStatus:
    """A control from the catalogue and whether the evidence satisfies it."""

    control_id: str
    title: str
    framework: str = ""
    status: str = "not-assessed"  # satisfied, not-satisfied, not-assessed
    evidence: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class ChainHead:
    """The audit chain at a point: last sequence number and its hash."""

    sequence: int
    hash: str


# ---------------------------------------------------------------------------------------------- digest


def inputs_digest(data: Any) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of ``data`` (see :func:`jsonable`)."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


def canonical_json(data: Any) -> bytes:
    """RFC 8785 (JCS) bytes of ``data`` after :func:`jsonable`."""
    return rfc8785.dumps(jsonable(data))


def jsonable(value: Any) -> Any:
    """Plain JSON values for dataclasses, mappings, sequences, datetimes, enums and numbers.

    Datetimes become ISO 8601 UTC with ``Z`` (naive ones are refused); non-finite floats, which JSON
    cannot hold, become the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``; anything else that is
    not JSON raises ``TypeError`` rather than being guessed at.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ("NaN" if math.isnan(value) else _infinity(value))
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [jsonable(item) for item in value]
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    raise TypeError(f"{type(value).__name__} is not a plain input value")


def _infinity(value: float) -> str:
    return "Infinity" if value > 0 else "-Infinity"


def utc_iso(moment: datetime) -> str:
    """``2025-03-01T12:00:00Z`` (microseconds kept when present); naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("report datetimes must be timezone-aware")
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"
