"""The evidence bundle for a model version or a time range: a BagIt zip an auditor can verify offline.

Payload layout (under ``data/``)::

    reports/<name>.pdf               the PDF reports given (validation, documentation, ...)
    checks/results.json              the check runs and their results (RFC 8785 JSON)
    checks/results.csv               the same, as the GRC CSV feed (formula-escaped)
    approvals/approvals.json         approval requests and signatures (RFC 8785 JSON)
    audit/events.jsonl               the audit excerpt: one RFC 8785 JSON event per line, in sequence order
    audit/verification.json          the verifier's result over the excerpt
    audit/checkpoint.json            the latest signed checkpoint (when there is one)
    oscal/assessment-results.json    OSCAL 1.2.1 assessment results (when an assessment is given)
    <extra files>                    anything else, by the path given

``manifest-sha256.txt`` lists the SHA-256 of every one of them; ``bag-info.txt`` names the bundle, the
model version or time range, who generated it and when. The same input always gives the same zip bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reports.evidence.bag import PayloadFile, build_bag_zip
from reports.evidence.csv_feed import check_results_csv
from reports.evidence.oscal import AssessmentInput, assessment_results_json
from reports.evidence.records import CheckRun
from reports.rendering.inputs import canonical_json, utc_iso


@dataclass(frozen=True, kw_only=True)
class BundleInput:
    """Everything that goes into one bundle; JSON parts are plain mappings as governance stores them.

    ``scope`` says what the bundle covers for people (``model credit-default v7`` or a time range);
    ``reports`` maps file names (``validation-report.pdf``) to PDF bytes.
    """

    bundle_id: str
    scope: str
    generated_at: datetime
    generated_by: str
    organisation: str = ""
    reports: Mapping[str, bytes] | Sequence[tuple[str, bytes]] = ()
    check_runs: Sequence[CheckRun] = ()
    approvals: Sequence[Mapping[str, Any]] = ()
    audit_events: Sequence[Mapping[str, Any]] = ()
    audit_verification: Mapping[str, Any] | None = None
    audit_checkpoint: Mapping[str, Any] | None = None
    assessment: AssessmentInput | None = None
    extra_files: Sequence[tuple[str, bytes]] = ()


def payload_files(data: BundleInput) -> list[PayloadFile]:
    """The bundle's payload, in a fixed order, before bagging."""
    reports = data.reports.items() if isinstance(data.reports, Mapping) else data.reports
    files = [PayloadFile(f"reports/{name}", content) for name, content in reports]
    files += [
        PayloadFile("checks/results.json", canonical_json(data.check_runs)),
        PayloadFile("checks/results.csv", check_results_csv(data.check_runs)),
        PayloadFile("approvals/approvals.json", canonical_json(data.approvals)),
        PayloadFile(
            "audit/events.jsonl", b"".join(canonical_json(event) + b"\n" for event in data.audit_events)
        ),
    ]
    if data.audit_verification is not None:
        files.append(PayloadFile("audit/verification.json", canonical_json(data.audit_verification)))
    if data.audit_checkpoint is not None:
        files.append(PayloadFile("audit/checkpoint.json", canonical_json(data.audit_checkpoint)))
    if data.assessment is not None:
        files.append(PayloadFile("oscal/assessment-results.json", assessment_results_json(data.assessment)))
    files += [PayloadFile(path, content) for path, content in data.extra_files]
    return files


def build_evidence_bundle(data: BundleInput) -> bytes:
    """The zipped bag for ``data``; it validates with ``bagit.py --validate`` once unzipped."""
    info = {
        "Source-Organization": data.organisation or "Attest",
        "External-Identifier": data.bundle_id,
        "External-Description": f"Attest evidence bundle: {data.scope}",
        "Attest-Scope": data.scope,
        "Attest-Generated-By": data.generated_by,
        "Attest-Generated-At": utc_iso(data.generated_at),
    }
    return build_bag_zip(payload_files(data), name=data.bundle_id, bagged_at=data.generated_at, info=info)
