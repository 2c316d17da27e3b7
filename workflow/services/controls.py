"""Control coverage: which controls of the catalogue a model version satisfies, and what each lacks.

Each control's ``satisfied_by`` lists criteria; all must hold. Criteria are evaluated once per version
(a handful of queries) and then looked up for every control, so a gap report costs the same for 10 or
100 controls.

Two criteria serve LLM applications: ``model_kinds`` (``["llm_application"]``) says which kinds of model
a control applies to (a control naming kinds is left out of the coverage of any other model, so the
coverage of ordinary models is what it was), and ``llm_evidence`` names records of the signed evidence
manifest or the version (:data:`LLM_EVIDENCE`): the bundle, a red-team run, a judged evaluation, a
telemetry monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit.models import AuditVerification
from monitoring.models import MonitoringPlan, TelemetryMonitor
from registry.models import ModelVersion
from registry.models.lineage import EdgeKind, LineageEdge
from workflow.annex_iv import section_check_kinds
from workflow.models import ApprovalRequest, ApprovalStatus, Control
from workflow.services.annex_iv import ItemStatus, annex_iv_status, section_status
from workflow.services.approvals import PASSING_OUTCOMES
from workflow.services.evidence import SignedEvidence, signed_evidence

INVENTORY_FIELDS = {
    "purpose": "purpose",
    "intended_use": "intended use",
    "limitations": "limitations",
    "owner": "owner",
    "risk_tier": "risk tier",
    "intended_users": "intended users",
    "human_oversight": "human oversight",
    "autonomy_level": "autonomy level",
}
LLM_EVIDENCE = {
    "bundle": "the LLM application bundle in the evidence manifest",
    "red_team": "a red-team run in the evidence manifest",
    "judged_evaluation": "a judged evaluation in the evidence manifest",
    "telemetry_monitor": "a telemetry monitor on the version",
}


@dataclass
class VersionFacts:
    """What is known about a version, gathered once for all controls."""

    passing_checks: set[str]
    evidence_types: set[str]
    inventory: dict[str, bool]
    approved: bool
    monitoring_plan: bool
    audit_verified: bool
    lineage: bool
    check_runs: dict[str, int] = field(default_factory=dict)
    annex_iv: list[ItemStatus] = field(default_factory=list)
    model_kind: str = "ml_model"
    llm_evidence: dict[str, str] = field(default_factory=dict)


def version_facts(version: ModelVersion, evidence: SignedEvidence | None = None) -> VersionFacts:
    """Facts about ``version``; checks and documents from ``evidence`` when given, else from the version's
    approval of record (its signed manifest), else from the evidence a request would freeze now."""
    evidence = evidence if evidence is not None else signed_evidence(version)
    runs = {run.kind: run for run in evidence.runs}
    model = version.model
    last_verification = AuditVerification.objects.filter(status="succeeded").order_by("-pk").first()
    return VersionFacts(
        passing_checks={kind for kind, run in runs.items() if run.outcome in PASSING_OUTCOMES},
        evidence_types={document.evidence_type_id for document in evidence.documents},
        inventory={
            name: bool(getattr(model, f"{name}_id", None) or getattr(model, name, None))
            for name in INVENTORY_FIELDS
        },
        approved=ApprovalRequest.objects.filter(
            model_version=version, status=ApprovalStatus.APPROVED
        ).exists(),
        monitoring_plan=MonitoringPlan.objects.filter(
            model_version=version, deleted_at__isnull=True
        ).exists(),
        audit_verified=bool(last_verification and last_verification.intact),
        lineage=LineageEdge.objects.filter(dst_version=version, kind=EdgeKind.TRAINED_ON).exists(),
        check_runs={kind: run.pk for kind, run in runs.items()},
        annex_iv=annex_iv_status(version, evidence),
        model_kind=model.kind,
        llm_evidence=_llm_evidence(version, evidence),
    )


def _llm_evidence(version: ModelVersion, evidence: SignedEvidence) -> dict[str, str]:
    """``{LLM_EVIDENCE key: what is present}`` from the signed manifest (and the version's monitor)."""
    manifest = evidence.manifest
    found: dict[str, str] = {}
    if manifest.bundle is not None:
        found["bundle"] = f"bundle {manifest.bundle.digest}"
    if manifest.red_team is not None:
        found["red_team"] = f"red-team run {manifest.red_team.run}"
    if manifest.judged_evaluations:
        ids = ", ".join(str(item.id) for item in manifest.judged_evaluations)
        found["judged_evaluation"] = f"judged evaluation(s) {ids}"
    monitor = TelemetryMonitor.objects.filter(model_version=version).first()
    if monitor is not None:
        found["telemetry_monitor"] = f"telemetry monitor ({monitor.bucket_seconds} s buckets)"
    return found


def applies(control: Control, facts: VersionFacts) -> bool:
    """Whether ``control`` applies to the version's kind of model (``model_kinds``, when it names any)."""
    kinds = (control.satisfied_by or {}).get("model_kinds") or []
    return not kinds or facts.model_kind in kinds


def control_status(control: Control, facts: VersionFacts) -> dict[str, Any]:
    """``{satisfied, missing[], evidence[]}`` for one control against one version's facts."""
    rule = control.satisfied_by or {}
    missing: list[str] = []
    evidence: list[str] = []
    for kind in rule.get("checks", []):
        if kind in facts.passing_checks:
            evidence.append(f"check run {facts.check_runs[kind]} ({kind})")
        else:
            missing.append(f"a passing '{kind}' check")
    for key in rule.get("evidence", []):
        (evidence if key in facts.evidence_types else missing).append(f"evidence '{key}'")
    for key in rule.get("llm_evidence", []):
        if key in facts.llm_evidence:
            evidence.append(facts.llm_evidence[key])
        else:
            missing.append(LLM_EVIDENCE.get(key, key))
    for name in rule.get("inventory", []):
        if not facts.inventory.get(name, False):
            missing.append(f"inventory field '{INVENTORY_FIELDS.get(name, name)}'")
    flags = {
        "approval": (facts.approved, "a completed approval"),
        "monitoring_plan": (facts.monitoring_plan, "a monitoring plan"),
        "audit": (facts.audit_verified, "a successful audit-chain verification"),
        "lineage": (facts.lineage, "training-data lineage"),
    }
    for key, (present, label) in flags.items():
        if rule.get(key):
            (evidence if present else missing).append(label)
    if rule.get("annex_iv"):
        # the Annex IV document's own item statuses, so the two documents cannot disagree
        _, supplied, lacking = section_status(facts.annex_iv, int(rule["annex_iv"]))
        evidence += supplied
        missing += lacking
    return {"satisfied": not missing, "missing": missing, "evidence": evidence}


def evidencing_checks(rule: dict[str, Any] | None) -> list[str]:
    """The check kinds whose runs are evidence for a control with criteria ``rule``: those it names, and
    for an Annex IV control those that supply an item of its section."""
    rule = rule or {}
    kinds = list(rule.get("checks", []))
    if rule.get("annex_iv"):
        kinds += section_check_kinds(int(rule["annex_iv"]))
    return list(dict.fromkeys(kinds))


def control_coverage(version: ModelVersion, evidence: SignedEvidence | None = None) -> list[dict[str, Any]]:
    """Every control with its status for ``version`` (judged on ``evidence`` when given), in catalogue order."""
    facts = version_facts(version, evidence)
    controls = Control.objects.select_related("framework").order_by("framework__key", "key")
    return [
        {
            "framework": control.framework.key,
            "control": control.key,
            "title": control.title,
            **control_status(control, facts),
        }
        for control in controls
        if applies(control, facts)
    ]
