"""OSCAL assessment results (OSCAL 1.2.1) for one model version: observations per check run, findings per control.

Shape of the document:

* ``metadata``: title, ``published`` and ``last-modified`` (the generation time), ``oscal-version``;
* ``import-ap``: a reference to a back-matter resource describing the policy the checks came from
  (Attest's policies play the part of the assessment plan);
* ``results[0]``: the model version as a ``software`` component in ``local-definitions``; the
  reviewed controls; **one observation per check run** (``methods: ["TEST"]``, the model version as
  subject, the run's results in the description, ``relevant-evidence`` pointing to a back-matter resource
  whose link carries the SHA-256 of the stored results); **one finding per control** whose target status
  is ``satisfied`` when every run mapped to the control passed (``warn`` counts as passing: the threshold
  was met) and ``not-satisfied`` when one failed or when no run provides evidence for it;
* ``back-matter``: the evidence resources and the policy resource.

Identifiers are UUID version 5 in :data:`NAMESPACE`: observations and resources from the check run and
the evidence hash, so they are the same in every document that mentions them; the document, result and
findings from the inputs' digest, so the same inputs always give the same document, byte for byte.
Attest-specific properties carry ``ns`` = :data:`PROPERTY_NS`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reports.evidence.records import CheckRun, ControlRef
from reports.rendering.inputs import ModelInfo, inputs_digest, utc_iso

OSCAL_VERSION = "1.2.1"
NAMESPACE = uuid.UUID("5b1d0f4e-7c1a-5d6b-9a39-2f3c8e0d7a41")
PROPERTY_NS = "urn:attest:oscal"
MAX_RESULTS_IN_DESCRIPTION = 40
_TOKEN_START = re.compile(r"^[^_A-Za-z]")
_TOKEN_INVALID = re.compile(r"[^_A-Za-z0-9.\-]")


@dataclass(frozen=True, kw_only=True)
class AssessmentInput:
    """What the assessment results cover: a model version, its policy's controls and its check runs."""

    title: str
    model: ModelInfo
    generated_at: datetime
    policy: str
    controls: Sequence[ControlRef]
    runs: Sequence[CheckRun]
    environment: str = ""
    document_version: str = "1"


def assessment_results(data: AssessmentInput) -> dict[str, Any]:
    """The OSCAL document as a JSON-ready dict (top-level key ``assessment-results``)."""
    digest = inputs_digest(data)
    document_id = _uuid("assessment-results", data.model.name, str(data.model.version), digest)
    plan = _uuid("policy", data.policy)
    component = _uuid("model-version", data.model.name, str(data.model.version))
    observations = {run.run_id: _observation(run, component) for run in data.runs}
    result = {
        "uuid": str(_uuid("result", str(document_id))),
        "title": f"Automated checks of {data.model.label}",
        "description": f"Check runs of {data.model.label} against policy {data.policy}.",
        "start": utc_iso(min((r.evaluated_at for r in data.runs), default=data.generated_at)),
        "end": utc_iso(max((r.evaluated_at for r in data.runs), default=data.generated_at)),
        "local-definitions": {"components": [_component(data, component)]},
        "reviewed-controls": _reviewed_controls(data.controls),
        "observations": list(observations.values()) or None,
        "findings": [_finding(control, data.runs, observations, document_id) for control in data.controls]
        or None,
    }
    document = {
        "uuid": str(document_id),
        "metadata": _metadata(data, digest),
        "import-ap": {
            "href": f"#{plan}",
            "remarks": f"Attest policy {data.policy} serves as the assessment plan.",
        },
        "results": [_without_none(result)],
        "back-matter": {"resources": _resources(data, plan)},
    }
    return {"assessment-results": document}


def assessment_results_json(data: AssessmentInput) -> bytes:
    """:func:`assessment_results` as UTF-8 JSON (two-space indent, key order as built), ending in a newline."""
    return (json.dumps(assessment_results(data), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def control_token(control_id: str) -> str:
    """A control id as an OSCAL token (letters, digits, ``_ . -``; not starting with a digit)."""
    token = _TOKEN_INVALID.sub("-", control_id.strip()) or "control"
    return "_" + token if _TOKEN_START.match(token) else token


# ---------------------------------------------------------------------------------------------- parts


def _metadata(data: AssessmentInput, digest: str) -> dict[str, Any]:
    return {
        "title": data.title,
        "published": utc_iso(data.generated_at),
        "last-modified": utc_iso(data.generated_at),
        "version": data.document_version,
        "oscal-version": OSCAL_VERSION,
        "props": [_prop("inputs-sha256", digest)],
    }


def _component(data: AssessmentInput, component: uuid.UUID) -> dict[str, Any]:
    return {
        "uuid": str(component),
        "type": "software",
        "title": data.model.label,
        "description": data.model.title or data.model.description or data.model.label,
        "props": [_prop("model", data.model.name), _prop("model-version", str(data.model.version))],
        "status": {"state": "operational" if data.environment == "production" else "under-development"},
    }


def _reviewed_controls(controls: Sequence[ControlRef]) -> dict[str, Any]:
    if not controls:
        return {"control-selections": [{"include-all": {}}]}
    selected = [{"control-id": control_token(c.control_id)} for c in controls]
    return {"control-selections": [{"include-controls": selected}]}


def _observation(run: CheckRun, component: uuid.UUID) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "uuid": str(_uuid("observation", run.run_id)),
        "title": run.title or f"{run.check} check {run.run_id}",
        "description": _results_text(run),
        "props": [
            _prop("check-run-id", run.run_id),
            _prop("check-kind", run.check),
            _prop("outcome", run.outcome),
        ],
        "methods": ["TEST"],
        "subjects": [{"subject-uuid": str(component), "type": "component"}],
        "collected": utc_iso(run.evaluated_at),
    }
    if run.evidence_sha256:
        observation["relevant-evidence"] = [
            {
                "href": f"#{_evidence_uuid(run)}",
                "description": f"Stored results of check run {run.run_id} (SHA-256 {run.evidence_sha256}).",
                "props": [_prop("sha256", run.evidence_sha256)],
            }
        ]
    return observation


def _results_text(run: CheckRun) -> str:
    lines = [f"{run.check} check on {run.model} v{run.version}: {run.outcome}."]
    for result in run.results[:MAX_RESULTS_IN_DESCRIPTION]:
        subject = f"[{result.subject}]" if result.subject else ""
        threshold = f" (threshold {result.threshold})" if result.threshold is not None else ""
        lines.append(f"{result.metric}{subject} = {result.value}{threshold}: {result.result}")
    hidden = len(run.results) - MAX_RESULTS_IN_DESCRIPTION
    if hidden > 0:
        lines.append(f"... and {hidden} more results in the stored evidence.")
    return "\n".join(lines)


def _finding(
    control: ControlRef, runs: Sequence[CheckRun], observations: dict, document_id: uuid.UUID
) -> dict[str, Any]:
    token = control_token(control.control_id)
    related = [run for run in runs if control.control_id in run.controls]
    failed = [run.run_id for run in related if run.outcome == "fail"]
    if not related:
        state, reason, remarks = "not-satisfied", "other", "No check run provides evidence for this control."
    elif failed:
        state, reason, remarks = "not-satisfied", "fail", f"Failed check runs: {', '.join(failed)}."
    else:
        state, reason, remarks = "satisfied", "pass", f"All {len(related)} check runs passed."
    finding: dict[str, Any] = {
        "uuid": str(_uuid("finding", str(document_id), control.control_id)),
        "title": f"{control.control_id}: {control.title}",
        "description": f"Automated evidence for control {control.control_id} ({control.framework or 'catalogue'}).",
        "target": {
            "type": "objective-id",
            "target-id": token,
            "title": control.title,
            "status": {"state": state, "reason": reason, "remarks": remarks},
        },
    }
    if related:
        finding["related-observations"] = [
            {"observation-uuid": observations[run.run_id]["uuid"]} for run in related
        ]
    return finding


def _resources(data: AssessmentInput, plan: uuid.UUID) -> list[dict[str, Any]]:
    resources = [
        {
            "uuid": str(plan),
            "title": f"Policy {data.policy}",
            "description": "The Attest policy whose required checks and thresholds were applied.",
        }
    ]
    seen: set[str] = set()
    for run in data.runs:
        if not run.evidence_sha256 or str(_evidence_uuid(run)) in seen:
            continue
        seen.add(str(_evidence_uuid(run)))
        rlink = {
            "href": run.evidence_uri or f"urn:sha256:{run.evidence_sha256}",
            "media-type": "application/json",
        }
        rlink["hashes"] = [{"algorithm": "SHA-256", "value": run.evidence_sha256}]
        resources.append(
            {
                "uuid": str(_evidence_uuid(run)),
                "title": f"Results of check run {run.run_id}",
                "rlinks": [rlink],
            }
        )
    return resources


def _evidence_uuid(run: CheckRun) -> uuid.UUID:
    return _uuid("evidence", run.evidence_sha256, run.evidence_uri)


def _prop(name: str, value: str) -> dict[str, str]:
    # OSCAL property values are one line without leading or trailing blanks.
    return {"name": name, "ns": PROPERTY_NS, "value": " ".join(value.split()) or "-"}


def _uuid(*parts: str) -> uuid.UUID:
    # The parts are joined with a separator that cannot occur in them unescaped, so ("a/b", "c") and
    # ("a", "b/c") give different identifiers.
    return uuid.uuid5(NAMESPACE, "/".join(part.replace("%", "%25").replace("/", "%2F") for part in parts))


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
