"""Validation documents: the template a policy asks for, and writing a version's document revision by revision.

Who writes: the second line (``author_validation``: validators of the model's team, risk officers,
administrators), never a person the document judges: the version's submitter and the model's owner are
refused even when they hold the role (segregation of duties; the party a rule governs cannot write it).
The first line, auditors and anyone else who may see the version read it.

Each save that changes the content appends a revision (``ValidationDocumentRevision``, append-only) and
records ``validation_document.saved`` in the same transaction; a save that changes nothing writes nothing.
The content digest is SHA-256 over the RFC 8785 bytes of the normalised content
(:func:`normalised_content`), and the evidence manifest of an approval request pins the revision and the
digest (``workflow.services.evidence.evidence_manifest``): an edit after the request changes the manifest's
digest, so the request is invalidated when it is next signed, as with any other evidence change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import rfc8785
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import access
from accounts.models import User
from audit import record
from config.api.errors import ServiceError
from monitoring.models import CheckRun
from registry.models import ModelVersion
from workflow.models import Policy, Rating, ValidationDocument, ValidationDocumentRevision, ValidationTemplate

MAX_TEXT = 50_000
MAX_CONDITIONS = 20
MAX_CONDITION_TEXT = 2_000
TEXT_FIELDS = ("text", "commentary", "challenge")
NOTE_FIELDS = ("commentary", "challenge")
CHECK_KINDS = ("data_quality", "performance", "fairness", "explainability", "drift")

DEFAULT_TITLE = "Model validation report"
DEFAULT_SECTIONS: list[dict[str, Any]] = [
    {
        "key": "summary",
        "title": "Executive summary",
        "guidance": "The validation's conclusion in a few sentences: what was validated, the overall rating, "
        "the main weaknesses and the conditions of use.",
        "required": True,
        "live_blocks": [],
    },
    {
        "key": "scope",
        "title": "Scope and intended use",
        "guidance": "The model's purpose, the decisions it supports, the population and the environment it is "
        "approved for, and what was out of scope of this validation.",
        "required": True,
        "live_blocks": [],
    },
    {
        "key": "conceptual_soundness",
        "title": "Conceptual soundness",
        "guidance": "Is the method appropriate for the purpose? Key assumptions, design choices and their "
        "justification; alternatives considered (SR 11-7: evaluation of conceptual soundness).",
        "required": True,
        "live_blocks": [],
    },
    {
        "key": "data",
        "title": "Data quality and relevance",
        "guidance": "Are the training and validation data representative, complete and correctly labelled? "
        "Comment on the data-quality run below.",
        "required": False,
        "live_blocks": [{"check": "data_quality"}],
    },
    {
        "key": "outcomes",
        "title": "Outcomes analysis",
        "guidance": "Performance against the policy's thresholds on out-of-sample data; benchmark against "
        "a challenger where one exists.",
        "required": True,
        "live_blocks": [{"check": "performance"}],
    },
    {
        "key": "fairness",
        "title": "Fairness",
        "guidance": "Differences in outcomes between groups of each sensitive feature, and whether they are "
        "justified.",
        "required": False,
        "live_blocks": [{"check": "fairness"}],
    },
    {
        "key": "stability",
        "title": "Stability and drift",
        "guidance": "Population stability between the reference and the current data; what drift would "
        "trigger a review.",
        "required": False,
        "live_blocks": [{"check": "drift"}],
    },
    {
        "key": "limitations",
        "title": "Limitations and compensating controls",
        "guidance": "Known weaknesses, where the model must not be used, and the controls that compensate "
        "(overrides, monitoring, human review).",
        "required": True,
        "live_blocks": [],
    },
]


class RevisionConflict(ServiceError):
    """The document was saved by someone else since the editor opened it."""

    status_code = 409
    code = "revision_conflict"


@dataclass(frozen=True)
class TemplateSpec:
    """The template in force for a policy: its title, sections, whether approval needs a complete
    document, and where it came from (in words)."""

    title: str
    sections: list[dict[str, Any]]
    required_for_approval: bool
    source: str


# --- templates ---------------------------------------------------------------------------------------


def template_for(policy: Policy | None) -> TemplateSpec:
    """The template of ``policy``: its own, else that of the latest earlier version of its tier that has one,
    else the built-in default (which no approval requires)."""
    template = None
    if policy is not None:
        template = (
            ValidationTemplate.objects.filter(policy__tier=policy.tier, policy__version__lte=policy.version)
            .select_related("policy")
            .order_by("-policy__version")
            .first()
        )
    if template is None:
        return TemplateSpec(DEFAULT_TITLE, DEFAULT_SECTIONS, False, "the built-in default template")
    return TemplateSpec(
        template.title,
        template.sections,
        template.required_for_approval,
        f"the template of tier {template.policy.tier} policy v{template.policy.version}",
    )


def validate_template_sections(sections: Any) -> list[dict[str, Any]]:
    """Check a template's sections (the admin form calls this); raises ValidationError naming the fault."""
    if not isinstance(sections, list) or not sections:
        raise ValidationError({"sections": ["A list of at least one section."]})
    keys: list[str] = []
    cleaned = []
    for index, section in enumerate(sections):
        where = f"sections[{index}]"
        if not isinstance(section, dict):
            raise ValidationError({where: ["Each section is an object with key, title and guidance."]})
        key, title = section.get("key"), section.get("title")
        if not isinstance(key, str) or not key.replace("_", "").isalnum() or key in keys or len(key) > 64:
            raise ValidationError({f"{where}.key": ["A unique key of letters, digits and underscores."]})
        if not isinstance(title, str) or not title.strip() or len(title) > 200:
            raise ValidationError({f"{where}.title": ["A title of 1 to 200 characters."]})
        blocks = section.get("live_blocks") or []
        if not isinstance(blocks, list) or any(
            not isinstance(block, dict) or block.get("check") not in CHECK_KINDS for block in blocks
        ):
            raise ValidationError(
                {f"{where}.live_blocks": [f'Blocks are {{"check": one of {", ".join(CHECK_KINDS)}}}.']}
            )
        keys.append(key)
        cleaned.append(
            {
                "key": key,
                "title": title.strip(),
                "guidance": str(section.get("guidance") or ""),
                "required": bool(section.get("required", False)),
                "live_blocks": [{"check": block["check"]} for block in blocks],
            }
        )
    return cleaned


def validation_template_save(
    *,
    actor: User,
    policy: Policy,
    title: str,
    sections: Any,
    required_for_approval: bool,
    template: ValidationTemplate | None = None,
) -> ValidationTemplate:
    """Create or change the template of ``policy`` (administrators), audited as ``validation_template.saved``.

    Documents already started keep the sections they were started with; ``required_for_approval`` applies to
    the next approval request.
    """
    access.require(actor, "administer")
    cleaned = validate_template_sections(sections)
    if not title.strip() or len(title) > 200:
        raise ValidationError({"title": ["A title of 1 to 200 characters."]})
    with transaction.atomic():
        before = None
        if template is not None and template.pk is not None:
            current = ValidationTemplate.objects.select_for_update().get(pk=template.pk)
            before = {
                "title": current.title,
                "sections": current.sections,
                "required_for_approval": current.required_for_approval,
            }
            template = current
        else:
            template = ValidationTemplate(policy=policy)
        template.policy = policy
        template.title = title.strip()
        template.sections = cleaned
        template.required_for_approval = required_for_approval
        template.save()
        record(
            action="validation_template.saved",
            actor=actor,
            obj=template,
            before=before,
            after={
                "policy": {"tier": policy.tier, "version": policy.version},
                "title": template.title,
                "sections": cleaned,
                "required_for_approval": required_for_approval,
            },
        )
    return template


# --- reading -----------------------------------------------------------------------------------------


def document_of(version: ModelVersion) -> ValidationDocument | None:
    return ValidationDocument.objects.filter(model_version=version).select_related("updated_by").first()


def sections_of(
    version: ModelVersion, document: ValidationDocument | None
) -> tuple[str, list[dict[str, Any]]]:
    """(title, sections) of the version's document: the snapshot it was started with, else the template
    the version's tier's active policy asks for now."""
    if document is not None:
        return document.template_title, document.template_sections
    policy = Policy.objects.filter(tier=version.model.risk_tier, is_active=True).first()
    spec = template_for(policy)
    return spec.title, spec.sections


def empty_content(sections: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sections": [
            {"key": s["key"], "title": s["title"], **dict.fromkeys(TEXT_FIELDS, "")} for s in sections
        ],
        "check_notes": [],
        "rating": "",
        "conditions": [],
    }


def missing_items(version: ModelVersion, document: ValidationDocument | None) -> list[str]:
    """What keeps the version's document from being complete (empty when it is)."""
    _, sections = sections_of(version, document)
    return content_missing(document.content if document is not None else empty_content(sections), sections)


def content_missing(content: dict[str, Any], sections: list[dict[str, Any]]) -> list[str]:
    """Empty required sections, no rating, a conditional rating without conditions."""
    texts = {item["key"]: item.get("text", "") for item in content.get("sections", [])}
    missing = [
        f"the required section '{section['title']}' is empty"
        for section in sections
        if section.get("required") and not texts.get(section["key"], "").strip()
    ]
    rating = content.get("rating", "")
    if not rating:
        missing.append("no overall rating has been given")
    elif rating == Rating.WITH_CONDITIONS and not content.get("conditions"):
        missing.append("the rating is 'satisfactory with conditions' but no condition is stated")
    return missing


def approval_missing(version: ModelVersion, policy: Policy) -> list[str]:
    """The validation document's gaps, for a policy whose template requires a complete document."""
    if not template_for(policy).required_for_approval:
        return []
    document = document_of(version)
    if document is None:
        return ["validation document: none has been written for this version"]
    return [f"validation document: {item}" for item in missing_items(version, document)]


def content_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


# --- writing -----------------------------------------------------------------------------------------


def may_author(user, version: ModelVersion) -> bool:
    """Whether ``user`` may write the version's document (role, team scope and segregation)."""
    return access.can(user, "author_validation", version.model) and not _judged_party(user, version)


def _judged_party(user, version: ModelVersion) -> str:
    if user.pk == version.created_by_id:
        return "the version's submitter"
    if user.pk == version.model.owner_id:
        return "the model's owner"
    return ""


def validation_document_save(
    *,
    actor: User,
    version: ModelVersion,
    sections: dict[str, dict[str, str]] | None = None,
    check_notes: dict[Any, dict[str, str]] | None = None,
    rating: str | None = None,
    conditions: list[dict[str, Any]] | None = None,
    base_revision: int | None = None,
) -> ValidationDocument:
    """Write the given parts of the version's validation document (parts not given stay as they are).

    ``sections``: section key → ``{text, commentary, challenge}`` (Markdown; any subset of the three);
    ``check_notes``: check-run id → ``{commentary, challenge}``; ``rating``: one of ``Rating`` or empty;
    ``conditions``: the full list ``[{text, due}]`` (``due`` an ISO date). ``base_revision``: the revision
    the editor started from; a save on top of another person's later revision is refused (409).
    Refused with PermissionDenied (audited) for a person who may not write it.
    """
    _require_author(actor, version)
    with transaction.atomic():
        # Lock the version, not the document: the first save of two racing writers has no row to lock yet.
        ModelVersion.objects.select_for_update().filter(pk=version.pk).exists()
        document = ValidationDocument.objects.filter(model_version=version).first()
        if base_revision is not None and base_revision != (document.revision if document else 0):
            raise RevisionConflict(
                f"The document was saved as revision {document.revision if document else 0} by someone else "
                f"since you opened revision {base_revision}; reload it and apply your changes again.",
                fields={"base_revision": ["Not the latest revision."]},
            )
        if document is None:
            title, template_sections = sections_of(version, None)
            document = ValidationDocument(
                model_version=version,
                template_title=title,
                template_sections=template_sections,
                content=empty_content(template_sections),
                created_by=actor,
                updated_by=actor,
            )
        before = document.content
        content = _merged(version, document, before, sections, check_notes, rating, conditions)
        digest = content_digest(content)
        if document.pk is not None and digest == document.content_sha256:
            return document
        changed = _changes(before, content)
        document.revision += 1
        document.content = content
        document.content_sha256 = digest
        document.rating = content["rating"]
        document.updated_by = actor
        document.save()
        ValidationDocumentRevision.objects.create(
            document=document,
            revision=document.revision,
            content=content,
            content_sha256=digest,
            author=actor,
            changed=changed,
        )
        record(
            action="validation_document.saved",
            actor=actor,
            obj=document,
            before={"revision": document.revision - 1} if document.revision > 1 else None,
            after={
                "model": version.model.name,
                "version": version.version,
                "revision": document.revision,
                "content_sha256": digest,
                "rating": document.rating,
                "changed": changed,
            },
        )
    return document


def _require_author(actor: User, version: ModelVersion) -> None:
    why = ""
    if not access.can(actor, "author_validation", version.model):
        why = "Only the model's validators, a risk officer or an administrator write its validation document."
    elif party := _judged_party(actor, version):
        why = f"Segregation of duties: {party} cannot write the validation document of the version."
    if why:
        with transaction.atomic():
            record(
                action="validation_document.refused",
                actor=actor,
                obj=version,
                after={"model": version.model.name, "version": version.version, "why": why},
            )
        raise PermissionDenied(why)


def _merged(version, document, before, sections, check_notes, rating, conditions) -> dict[str, Any]:
    """The document's content with the given parts applied, normalised; ValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    template = {section["key"]: section for section in document.template_sections}
    texts = {item["key"]: item for item in before.get("sections", [])}
    for key, values in (sections or {}).items():
        if key not in template:
            errors[f"sections.{key}"] = [
                f"No such section; the document's sections are {', '.join(template)}."
            ]
            continue
        if not isinstance(values, dict):
            errors[f"sections.{key}"] = ["An object with text, commentary and challenge."]
            continue
        for name, value in values.items():
            if name not in TEXT_FIELDS:
                errors[f"sections.{key}.{name}"] = [f"Unknown field; a section has {', '.join(TEXT_FIELDS)}."]
            elif not isinstance(value, str) or len(value) > MAX_TEXT:
                errors[f"sections.{key}.{name}"] = [f"Text of at most {MAX_TEXT} characters."]
            else:
                texts.setdefault(key, {})[name] = value.replace("\r\n", "\n").strip()
    notes = {int(item["run"]): item for item in before.get("check_notes", [])}
    if check_notes:
        notes.update(_check_notes(version, check_notes, errors))
    rating = before.get("rating", "") if rating is None else rating
    if rating not in ("", *Rating.values):
        errors["rating"] = [f"One of {', '.join(Rating.values)} (or empty while drafting)."]
    conditions = before.get("conditions", []) if conditions is None else _conditions(conditions, errors)
    if conditions and rating != Rating.WITH_CONDITIONS and "rating" not in errors:
        errors["conditions"] = [
            "Conditions go with the rating 'satisfactory_with_conditions'; remove them or change the rating."
        ]
    if errors:
        raise ValidationError(errors)
    return {
        "sections": [
            {
                "key": key,
                "title": section["title"],
                **{name: texts.get(key, {}).get(name, "") for name in TEXT_FIELDS},
            }
            for key, section in template.items()
        ],
        "check_notes": [
            notes[run] for run in sorted(notes) if notes[run]["commentary"] or notes[run]["challenge"]
        ],
        "rating": rating,
        "conditions": conditions,
    }


def _check_notes(version, check_notes, errors) -> dict[int, dict[str, Any]]:
    ids: dict[int, dict] = {}
    for run_id, values in check_notes.items():
        try:
            ids[int(run_id)] = values
        except (TypeError, ValueError):
            errors[f"check_notes.{run_id}"] = ["A check-run id."]
    runs = CheckRun.objects.filter(model_version=version, pk__in=list(ids)).in_bulk()
    notes = {}
    for run_id, values in ids.items():
        where = f"check_notes.{run_id}"
        if run_id not in runs:
            errors[where] = ["No check run of this version has that id."]
            continue
        if not isinstance(values, dict) or set(values) - set(NOTE_FIELDS):
            errors[where] = [f"An object with {', '.join(NOTE_FIELDS)}."]
            continue
        if any(not isinstance(value, str) or len(value) > MAX_TEXT for value in values.values()):
            errors[where] = [f"Text of at most {MAX_TEXT} characters."]
            continue
        run = runs[run_id]
        notes[run_id] = {
            "run": run_id,
            "kind": run.kind,
            **{name: str(values.get(name, "")).replace("\r\n", "\n").strip() for name in NOTE_FIELDS},
        }
    return notes


def _conditions(conditions, errors) -> list[dict[str, str]]:
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        errors["conditions"] = [f"A list of at most {MAX_CONDITIONS} conditions."]
        return []
    cleaned = []
    for index, condition in enumerate(conditions):
        where = f"conditions[{index}]"
        if not isinstance(condition, dict):
            errors[where] = ["An object with text and due (a date)."]
            continue
        text = str(condition.get("text") or "").strip()
        if not text or len(text) > MAX_CONDITION_TEXT:
            errors[f"{where}.text"] = [f"Say what must be done, in at most {MAX_CONDITION_TEXT} characters."]
        due = condition.get("due")
        if isinstance(due, dt.date):
            due = due.isoformat()
        try:
            due = dt.date.fromisoformat(str(due)).isoformat()
        except ValueError:
            errors[f"{where}.due"] = ["A due date, YYYY-MM-DD."]
            continue
        cleaned.append({"text": text, "due": due})
    return cleaned


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a revision changed, in words (for the audit event and the revision list)."""
    changes = []
    old = {item["key"]: item for item in before.get("sections", [])}
    for item in after["sections"]:
        previous = old.get(item["key"], {})
        for name in TEXT_FIELDS:
            if item[name] != previous.get(name, ""):
                changes.append(f"section '{item['title']}' {name}")
    old_notes = {item["run"]: item for item in before.get("check_notes", [])}
    for note in after["check_notes"]:
        if note != old_notes.get(note["run"]):
            changes.append(f"notes on check run {note['run']} ({note['kind']})")
    if before.get("rating", "") != after["rating"]:
        changes.append(f"rating {after['rating'] or 'cleared'}")
    if before.get("conditions", []) != after["conditions"]:
        changes.append(f"conditions ({len(after['conditions'])})")
    return changes
