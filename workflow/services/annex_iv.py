"""EU AI Act Annex IV: its items, what supplies each one, and the one function that says which are supplied.

Every document that states an Annex IV item's status reads it from :func:`annex_iv_status`: the Annex IV
technical documentation item by item, and control coverage (the catalogue's ``AIA-IV.<n>`` controls, whose
``satisfied_by`` is ``{"annex_iv": "<n>"}``) in the validation report, OSCAL and the coverage API. So the two
documents a validator compares cannot disagree.

An item is **supplied** when one of its alternatives is complete (every source of it present) or the model
carries the tag ``annex_iv.<key>`` (free text for what the registry has no field for); **partial** when some
source or context is present but no alternative is complete; **missing** when nothing is. Checks and
documents are those of the signed evidence the document describes (an approval's frozen manifest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitoring import results
from monitoring.models import MonitoringPlan, TelemetryMonitor
from registry.models import ModelVersion
from registry.models.lineage import EdgeKind, LineageEdge
from workflow.annex_iv import (
    ANNEX_IV,
    TAG_PREFIX,
    AnnexItem,
    Source,
    check,
    evidence,
    inventory,
    record,
    version,
)
from workflow.services.evidence import SignedEvidence, signed_evidence

SUPPLIED, PARTIAL, MISSING = "supplied", "partial", "missing"


@dataclass(frozen=True)
class ItemStatus:
    """An item's status and why: the sources present, and what would supply it when it is not."""

    item: AnnexItem
    section: int
    status: str
    present: list[str] = field(default_factory=list)
    needed: list[str] = field(default_factory=list)

    @property
    def supplied(self) -> bool:
        return self.status == SUPPLIED


@dataclass(frozen=True)
class AnnexFacts:
    """Which sources are present for one version and its signed evidence (gathered once)."""

    present: frozenset[Source]
    tags: frozenset[str]


def annex_facts(version_: ModelVersion, evidence_: SignedEvidence | None = None) -> AnnexFacts:
    """What the registry and the signed evidence hold for ``version_`` (a handful of queries)."""
    evidence_ = evidence_ if evidence_ is not None else signed_evidence(version_)
    model = version_.model
    present: set[Source] = set()
    for name in (
        "purpose",
        "intended_use",
        "deployment_context",
        "limitations",
        "out_of_scope_use",
        "affected_persons",
    ):
        if str(getattr(model, name, "") or "").strip():
            present.add(inventory(name))
    signature = (version_.signature or {}).get("inputs")
    version_fields = {
        "framework": version_.framework,
        "artifact_format": version_.artifact_format,
        "source_repository": version_.source_repository,
        "description": version_.description,
        "parameters": version_.parameters,
        "signature": signature,
    }
    present |= {version(name) for name, value in version_fields.items() if value}
    present |= {evidence(document.evidence_type_id) for document in evidence_.documents}
    present |= {check(run.kind) for run in evidence_.runs}
    records = {
        "signed_checks": any(results.evaluations_of(run) for run in evidence_.runs),
        "datasets": LineageEdge.objects.filter(
            dst_version=version_, kind__in=[EdgeKind.TRAINED_ON, EdgeKind.VALIDATED_ON]
        ).exists(),
        "versions": True,  # a version exists, so the history has at least this entry
        "monitoring_plan": MonitoringPlan.objects.filter(
            model_version=version_, deleted_at__isnull=True
        ).exists(),
        "risk_policy": model.risk_tier is not None,
        # LLM applications (none of these exist for an ordinary model, whose statuses are unchanged)
        "llm_bundle": evidence_.manifest.bundle is not None,
        "judged_evaluations": bool(evidence_.manifest.judged_evaluations),
        "red_team_run": evidence_.manifest.red_team is not None,
        "telemetry_monitor": TelemetryMonitor.objects.filter(model_version=version_).exists(),
    }
    present |= {record(name) for name, holds in records.items() if holds}
    tags = {
        tag.removeprefix(TAG_PREFIX)
        for tag, value in (model.tags or {}).items()
        if tag.startswith(TAG_PREFIX) and str(value).strip()
    }
    return AnnexFacts(present=frozenset(present), tags=frozenset(tags))


def item_status(item: AnnexItem, section: int, facts: AnnexFacts) -> ItemStatus:
    """The status of one item against the facts, with the sources present and what is still needed."""
    present = [source.label for source in _sources(item) if source in facts.present]
    if item.key in facts.tags:
        present.insert(0, f"tag '{TAG_PREFIX}{item.key}'")
    complete = item.key in facts.tags or any(
        all(source in facts.present for source in alternative) for alternative in item.supplied_by
    )
    status = SUPPLIED if complete else PARTIAL if present else MISSING
    needed = [] if complete else _needed(item)
    return ItemStatus(item=item, section=section, status=status, present=present, needed=needed)


def _sources(item: AnnexItem) -> list[Source]:
    return list(
        dict.fromkeys(
            [*(source for alternative in item.supplied_by for source in alternative), *item.context]
        )
    )


def _needed(item: AnnexItem) -> list[str]:
    alternatives = [" and ".join(source.label for source in alternative) for alternative in item.supplied_by]
    return [*alternatives, f"a model tag '{TAG_PREFIX}{item.key}' with the text"]


def annex_iv_status(version_: ModelVersion, evidence_: SignedEvidence | None = None) -> list[ItemStatus]:
    """Every Annex IV item's status for ``version_`` and its signed evidence, in Annex order."""
    facts = annex_facts(version_, evidence_)
    return [item_status(item, section.number, facts) for section in ANNEX_IV for item in section.items]


def section_status(statuses: list[ItemStatus], number: int) -> tuple[bool, list[str], list[str]]:
    """(every item of section ``number`` supplied, what is supplied, what is not), each as one line:
    ``Annex IV 1(a), 1(b) supplied`` / ``Annex IV 1(d), 1(e) missing`` / ``Annex IV 5 partly supplied``."""
    mine = [status for status in statuses if status.section == number]
    groups = {SUPPLIED: "supplied", PARTIAL: "partly supplied", MISSING: "missing"}
    lines = {
        state: f"Annex IV {', '.join(s.item.number for s in mine if s.status == state)} {label}"
        for state, label in groups.items()
        if any(s.status == state for s in mine)
    }
    supplied = [lines[SUPPLIED]] if SUPPLIED in lines else []
    lacking = [lines[state] for state in (PARTIAL, MISSING) if state in lines]
    return not lacking, supplied, lacking
