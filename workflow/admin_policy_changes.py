"""A policy change in words: what an administrator is about to change, shown before it is saved.

``describe_changes(old, new)`` compares two sets of rules (the tier's active version and the edit) and
returns one sentence per difference, grouped by topic, saying what the change means for the people and
models the policy governs ("Deployments to staging will need no approval", "stricter").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.admin_support import role_label
from workflow.admin_policy_forms import (
    BOUND_WORDS,
    FINDING_SOURCE_LABELS,
    KIND_LABELS,
    SEGREGATION_LABELS,
    metric_label,
)
from workflow.models import EvidenceChange, Severity
from workflow.services.policies import DEFAULT_STAGE_DUE_DAYS, SEGREGATION_PARTIES

MODEL_KIND_WORDS = {"ml_model": "machine-learning models", "llm_application": "LLM applications"}


@dataclass
class Topic:
    """The changes to one part of the policy; ``kind`` of each line is added, removed or changed."""

    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.lines.append((kind, text))


def describe_changes(
    old: dict[str, Any] | None, new: dict[str, Any], *, evidence_titles: dict[str, str] | None = None
) -> list[Topic]:
    """Every difference between ``old`` and ``new`` rules, in words; empty when they are the same.

    ``old`` None describes a first policy for the tier: everything it sets is listed as added.
    """
    old = old or {}
    titles = evidence_titles or {}
    topics = [
        _name(old, new),
        _checks(old.get("required_checks") or [], new.get("required_checks") or []),
        _evidence(old.get("required_evidence") or [], new.get("required_evidence") or [], titles),
        _stages(old.get("stages") or [], new.get("stages") or []),
        _environments(old.get("gated_environments") or {}, new.get("gated_environments") or {}),
        _promotions(old.get("environment_promotions") or {}, new.get("environment_promotions") or {}),
        _segregation(old, new),
        _calendar(old, new),
        _findings(old, new),
    ]
    return [topic for topic in topics if topic.lines]


def _name(old: dict, new: dict) -> Topic:
    topic = Topic("Name")
    if old.get("name", "") != new.get("name", ""):
        topic.add("changed", f"“{old.get('name', '')}” becomes “{new.get('name', '')}”.")
    return topic


# --- required checks --------------------------------------------------------------------------------


def _check_key(check: dict) -> tuple[str, str]:
    return check.get("kind", ""), check.get("metric", "")


def _bound_text(check: dict) -> str:
    parts = [f"{BOUND_WORDS[side]} {_number(check[side])}" for side in ("min", "max") if side in check]
    return " and ".join(parts)


def check_text(check: dict) -> str:
    """``a passing Performance check with ROC AUC at least 0.7``."""
    label = KIND_LABELS.get(check.get("kind", ""), check.get("kind", ""))
    kind = label if label[:2].isupper() else label.lower()  # an acronym ("LLM evaluation") keeps its case
    when = " when the version has one" if check.get("optional") else ""
    if not check.get("metric"):
        return f"a passing {kind} check{when}"
    bounds = _bound_text(check)
    article = "an" if kind[:1] in "aeioAEIOL" else "a"  # "an LLM …": the acronym is spoken "el"
    return f"{article} {kind} check with {metric_label(check['metric'])} {bounds}".rstrip() + when


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _strictness(old: dict, new: dict) -> str:
    """``stricter``, ``looser`` or mixed/unknown (empty) for a change of bounds on one metric."""
    verdicts = set()
    for side in ("min", "max"):
        before, after = old.get(side), new.get(side)
        if before == after:
            continue
        if before is None or after is None:
            verdicts.add("stricter" if before is None else "looser")
        elif side == "min":
            verdicts.add("stricter" if after > before else "looser")
        else:
            verdicts.add("stricter" if after < before else "looser")
    return verdicts.pop() if len(verdicts) == 1 else ""


def _checks(old: list[dict], new: list[dict]) -> Topic:
    topic = Topic("Required checks")
    before = {_check_key(check): check for check in old}
    after = {_check_key(check): check for check in new}
    for key, check in after.items():
        if key not in before:
            topic.add("added", f"Approval{_of_kinds(check)} will need {check_text(check)}.")
    for key, check in before.items():
        if key not in after:
            topic.add("removed", f"Approval{_of_kinds(check)} will no longer need {check_text(check)}.")
    for key in (key for key in after if key in before):  # in the edit's order, so the preview reads stably
        was, now = before[key], after[key]
        if _bound_text(was) != _bound_text(now) and key[1]:
            verdict = _strictness(was, now)
            label = f"{KIND_LABELS.get(key[0], key[0])} check, {metric_label(key[1])}"
            suffix = f" ({verdict})" if verdict else ""
            topic.add("changed", f"{label}: {_bound_text(was)} becomes {_bound_text(now)}{suffix}.")
        if bool(was.get("optional")) != bool(now.get("optional")):
            kind = KIND_LABELS.get(key[0], key[0])
            change = "only when the version has one" if now.get("optional") else "for every version"
            topic.add("changed", f"{kind} check: a run will be required {change}.")
        if (was.get("model_kinds") or []) != (now.get("model_kinds") or []):
            kind = KIND_LABELS.get(key[0], key[0])
            label = f"{kind} check, {metric_label(key[1])}" if key[1] else f"{kind} check"
            topic.add("changed", f"{label}: will bind {_kinds(now)} (was {_kinds(was)}).")
    return topic


def _kinds(check: dict) -> str:
    """``machine-learning models``, ``LLM applications`` or ``every model``, as an entry's scope."""
    names = [MODEL_KIND_WORDS.get(kind, kind) for kind in check.get("model_kinds") or []]
    return " and ".join(names) or "every model"


def _of_kinds(check: dict) -> str:
    return f" of {_kinds(check)}" if check.get("model_kinds") else ""


def _evidence(old: list[str], new: list[str], titles: dict[str, str]) -> Topic:
    topic = Topic("Required evidence")

    def named(key: str) -> str:
        return f"a {titles[key]} document ({key})" if key in titles else f"a '{key}' document"

    for key in new:
        if key not in old:
            topic.add("added", f"Approval will need {named(key)}.")
    for key in old:
        if key not in new:
            topic.add("removed", f"Approval will no longer need {named(key)}.")
    return topic


# --- stages and environments -------------------------------------------------------------------------


def stage_text(stage: dict) -> str:
    """``“Independent validation” (validation): 1 validator signs for review``."""
    quorum = stage.get("quorum", 1)
    role = role_label(stage.get("role", "")).lower()
    signers = f"{quorum} {role}" + ("s sign" if quorum != 1 else " signs")
    return f"“{stage.get('title', '')}” ({stage.get('key', '')}): {signers} for {stage.get('meaning', '')}"


def _stages(old: list[dict], new: list[dict]) -> Topic:
    topic = Topic("Approval stages")
    before = {stage.get("key"): stage for stage in old}
    after = {stage.get("key"): stage for stage in new}
    for position, stage in enumerate(new, start=1):
        if stage.get("key") not in before:
            topic.add("added", f"New stage {position}: {stage_text(stage)}.")
    for stage in old:
        if stage.get("key") not in after:
            topic.add("removed", f"Stage removed: {stage_text(stage)}.")
    for stage in new:
        was = before.get(stage.get("key"))
        if was is None:
            continue
        changes = [
            f"{name} {_stage_value(name, was.get(name))} becomes {_stage_value(name, stage.get(name))}"
            for name in ("title", "role", "quorum", "meaning", "due_days")
            if _stage_field(was, name) != _stage_field(stage, name)
        ]
        if changes:
            topic.add("changed", f"Stage {stage.get('key')}: {'; '.join(changes)}.")
    kept_before = [stage.get("key") for stage in old if stage.get("key") in after]
    kept_after = [stage.get("key") for stage in new if stage.get("key") in before]
    if kept_before != kept_after:
        topic.add("changed", f"Signing order {' → '.join(kept_before)} becomes {' → '.join(kept_after)}.")
    return topic


def _stage_field(stage: dict, name: str) -> Any:
    """A stage's value, ``due_days`` read with its default (a stage without one is due in 5 days)."""
    if name == "due_days":
        return stage.get("due_days", DEFAULT_STAGE_DUE_DAYS)
    return stage.get(name)


def _stage_value(name: str, value: Any) -> str:
    if name == "role":
        return role_label(value or "").lower()
    if name == "title":
        return f"“{value}”"
    return str(value)


def _environments(old: dict[str, list], new: dict[str, list]) -> Topic:
    topic = Topic("Gated environments")
    for name, stages in new.items():
        if name not in old:
            topic.add("added", f"Deployments to {name} will need an approval through {', '.join(stages)}.")
        elif list(old[name]) != list(stages):
            was = ", ".join(old[name])
            topic.add("changed", f"Approvals for {name} will need {', '.join(stages)} (was {was}).")
    for name in old:
        if name not in new:
            topic.add("removed", f"{name} will no longer be gated: deployments to it will need no approval.")
    return topic


def _promotions(old: dict[str, list], new: dict[str, list]) -> Topic:
    topic = Topic("Approvals that cover other environments")
    for name in sorted(set(old) | set(new)):
        before, after = list(old.get(name) or []), list(new.get(name) or [])
        for covered in after:
            if covered not in before:
                topic.add("added", f"An approval for {name} will also open the gate to {covered}.")
        for covered in before:
            if covered not in after:
                topic.add("removed", f"An approval for {name} will no longer open the gate to {covered}.")
    return topic


# --- people, calendar, findings ---------------------------------------------------------------------


def _segregation(old: dict, new: dict) -> Topic:
    topic = Topic("Who may never sign")
    before = old.get("segregation", list(SEGREGATION_PARTIES)) if old else []
    after = new.get("segregation", list(SEGREGATION_PARTIES))
    for party in SEGREGATION_PARTIES:
        label = SEGREGATION_LABELS[party]
        if party in after and party not in before:
            topic.add("added", f"{label.capitalize()} may not sign.")
        elif party in before and party not in after:
            topic.add("removed", f"{label.capitalize()} may now sign.")
    return topic


def _calendar(old: dict, new: dict) -> Topic:
    topic = Topic("Reviews and validity")
    months = (
        ("review_frequency_months", "Periodic review every {} months", " (next review dates are recomputed)"),
        ("approval_valid_months", "Approvals last {} months", ""),
    )
    for name, text, consequence in months:
        was, now = old.get(name), new.get(name)
        if was != now:
            line = text.format(now) + (f" (was {was})" if was is not None else "")
            topic.add("changed", line + (consequence if was is not None else "") + ".")
    return topic


def _findings(old: dict, new: dict) -> Topic:
    topic = Topic("Findings and changed evidence")
    severities = dict(Severity.choices)
    texts = {
        "blocking_finding_severity": "Open findings block approval and the gate from {} severity",
        "review_trigger_severity": "A monitoring alert puts a model under review from {} severity",
    }
    for name, text in texts.items():
        was, now = old.get(name), new.get(name)
        if was != now:
            was_text = f" (was {severities.get(was, was).lower()})" if was else ""
            topic.add("changed", text.format(severities.get(now, now).lower()) + was_text + ".")
    if old.get("evidence_change") != new.get("evidence_change"):
        labels = dict(EvidenceChange.choices)
        now = labels.get(new.get("evidence_change"), new.get("evidence_change"))
        topic.add("changed", f"When material evidence arrives after an approval: {now.lower()}.")
    before, after = old.get("model_wide_findings") or [], new.get("model_wide_findings") or []
    for source, label in FINDING_SOURCE_LABELS.items():
        if source in after and source not in before:
            topic.add("added", f"{label.capitalize()} will block every version of the model.")
        elif source in before and source not in after:
            topic.add("removed", f"{label.capitalize()} will block only the version they were raised on.")
    return topic
