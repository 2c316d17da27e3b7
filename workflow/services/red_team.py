"""Red-team runs in the workflow: required evidence of LLM applications, and no approval of a version whose
attack success rate in an OWASP category is worse than the latest approved version's by more than the
policy's tolerance.

The policy's ``red_team_required`` binds models of kind ``llm_application`` only (the LLM track: a credit
scorecard under the same tier policy is not red-teamed); the tolerance judges any version that has a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitoring import redteam
from monitoring.models import RedTeamRun
from monitoring.services.redteam import latest_red_team_run
from registry.models import ModelVersion
from registry.models.inventory import ModelKind
from workflow.models import ApprovalRequest, ApprovalStatus, Policy


@dataclass(frozen=True)
class Baseline:
    """The red-team run of the latest approved other version of the model, and that approval."""

    run: RedTeamRun
    approval: ApprovalRequest


def baseline_for(version: ModelVersion) -> Baseline | None:
    """The run the latest approval of another version of the same model rests on: the run its evidence
    manifest pinned, else (approved before red-team runs were pinned) that version's latest run then."""
    approvals = (
        ApprovalRequest.objects.filter(
            model_version__model_id=version.model_id, status=ApprovalStatus.APPROVED
        )
        .exclude(model_version=version)
        .select_related("model_version")
        .order_by("-completed_at", "-pk")
    )
    for approval in approvals:
        pinned = (approval.evidence_manifest or {}).get("red_team") or {}
        runs = RedTeamRun.objects.filter(model_version_id=approval.model_version_id)
        run = runs.filter(pk=pinned["run"]).first() if pinned.get("run") else None
        if run is None and approval.completed_at is not None:
            run = runs.filter(created_at__lte=approval.completed_at).order_by("-created_at", "-pk").first()
        if run is not None:
            return Baseline(run=run, approval=approval)
    return None


def comparison(run: RedTeamRun, policy: Policy | None) -> dict[str, Any]:
    """The run against the baseline, per category, with the tolerance the policy sets."""
    tolerance = policy.red_team_tolerance if policy is not None else 0.05
    baseline = baseline_for(run.model_version)
    rows = redteam.compare(run.results, baseline.run.results, tolerance) if baseline else []
    return {"baseline": baseline, "tolerance": tolerance, "rows": rows}


def approval_missing(version: ModelVersion, policy: Policy) -> list[str]:
    """A required red-team run that is missing, and the categories whose ASR regressed beyond tolerance."""
    run = latest_red_team_run(version)
    if run is None:
        required = policy.red_team_required and version.model.kind == ModelKind.LLM_APPLICATION
        return ["red-team run: none has been imported for this version"] if required else []
    compared = comparison(run, policy)
    worse = [row for row in compared["rows"] if row["regressed"]]
    if not worse:
        return []
    baseline = compared["baseline"]
    listed = "; ".join(
        f"{row['id']} {row['name']} {row['asr']:.4f} vs {row['baseline_asr']:.4f} (+{row['delta']:.4f})"
        for row in worse
    )
    return [
        f"red-team run {run.pk}: attack success rate worse than approved version "
        f"{baseline.run.model_version.version} (run {baseline.run.pk}) by more than the policy's tolerance "
        f"{compared['tolerance']:g} in {len(worse)} categor{'y' if len(worse) == 1 else 'ies'}: {listed}"
    ]
