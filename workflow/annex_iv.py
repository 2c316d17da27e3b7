"""EU AI Act Annex IV (technical documentation, Article 11(1)): its items and what supplies each, declared once.

Pure data, no Django: the Annex IV document lays itself out from it, and
``workflow.services.annex_iv.annex_iv_status`` judges each item against a version's records with it.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_PREFIX = "annex_iv."


@dataclass(frozen=True)
class Source:
    """One thing that can supply an item: ``kind`` is inventory, version, evidence, check or record."""

    kind: str
    name: str

    @property
    def label(self) -> str:
        labels = {
            "inventory": "inventory field '{}'",
            "version": "version field '{}'",
            "evidence": "a {} document",
            "check": "a {} check run in the signed evidence",
            "record": "{}",
        }
        return labels[self.kind].format(RECORD_LABELS.get(self.name, self.name.replace("_", " ")))


RECORD_LABELS = {
    "datasets": "training and validation datasets recorded in lineage",
    "signed_checks": "validation check runs in the signed evidence",
    "versions": "the model's version history",
    "monitoring_plan": "a monitoring plan",
    "risk_policy": "the risk tier and the policy governing it",
    "llm_bundle": "the LLM application bundle in the signed evidence",
    "judged_evaluations": "judged evaluations in the signed evidence",
    "red_team_run": "a red-team run in the signed evidence",
    "telemetry_monitor": "a telemetry monitor on the version",
}


def inventory(name: str) -> Source:
    return Source("inventory", name)


def version(name: str) -> Source:
    return Source("version", name)


def evidence(name: str) -> Source:
    return Source("evidence", name)


def check(name: str) -> Source:
    return Source("check", name)


def record(name: str) -> Source:
    return Source("record", name)


@dataclass(frozen=True)
class AnnexItem:
    """One requirement of Annex IV: key (``"2d"``), label, requirement (paraphrased) and what supplies it.

    ``supplied_by`` are alternatives, each a tuple of sources that must all be present; ``context`` is
    shown when present but does not supply the item on its own.
    """

    key: str
    label: str
    requirement: str
    supplied_by: tuple[tuple[Source, ...], ...] = ()
    context: tuple[Source, ...] = ()

    @property
    def number(self) -> str:
        """``2(d)`` for ``2d``, ``4`` for ``4``."""
        return f"{self.key[0]}({self.key[1:]})" if len(self.key) > 1 else self.key


@dataclass(frozen=True)
class AnnexSection:
    """One of the nine numbered sections of Annex IV."""

    number: int
    title: str
    items: tuple[AnnexItem, ...]


def _item(key, label, requirement, supplied_by=(), context=()) -> AnnexItem:
    return AnnexItem(
        key, label, requirement, tuple(tuple(alternative) for alternative in supplied_by), tuple(context)
    )


ANNEX_IV: tuple[AnnexSection, ...] = (
    AnnexSection(1, "General description of the AI system", (
        _item("1a", "Intended purpose, provider and version", "Intended purpose, name of the provider, version and its relation to previous versions.", [[inventory("purpose")], [inventory("intended_use")]]),
        _item("1b", "Interaction with other hardware and software", "How the system interacts with hardware or software, including other AI systems, that are not part of it.", [[inventory("deployment_context")]]),
        _item("1c", "Software and firmware versions", "Versions of relevant software or firmware and requirements related to version updates.", [[version("framework")]], [version("artifact_format")]),
        _item("1d", "Forms placed on the market", "All forms in which the system is placed on the market or put into service (packages, downloads, APIs)."),
        _item("1e", "Hardware", "The hardware on which the system is intended to run."),
        _item("1f", "Product integration", "Where the system is a component of products: external features, marking and internal layout."),
        _item("1g", "User interface", "A basic description of the user interface provided to the deployer."),
        _item("1h", "Instructions for use", "Instructions for use for the deployer."),
    )),
    AnnexSection(2, "Elements of the AI system and its development", (
        _item("2a", "Development methods and steps", "Methods and steps of development, including use of pre-trained systems or third-party tools.", [[evidence("model_documentation")], [version("source_repository")]], [version("description")]),
        _item("2b", "Design specifications", "General logic, key design choices and assumptions, what the system optimises for, expected output and trade-offs.", [[evidence("conceptual_soundness_memo")]], [version("parameters"), record("llm_bundle")]),
        _item("2c", "System architecture and resources", "How software components build on each other; computational resources for development, training, testing, validation."),
        _item("2d", "Data requirements", "Datasheets: training data sets, provenance, scope, characteristics, how obtained and selected, labelling, cleaning.", [[evidence("data_review")], [record("datasets")]]),
        _item("2e", "Human oversight assessment", "Assessment of the human oversight measures (Article 14) and of measures to interpret outputs (Article 13(3)(d))."),
        _item("2f", "Pre-determined changes", "Pre-determined changes to the system and its performance, and how continuous compliance is ensured."),
        _item("2g", "Validation and testing", "Validation and testing procedures and data; metrics for accuracy, robustness, discriminatory impact; signed test reports.", [[record("signed_checks")], [record("judged_evaluations")], [record("red_team_run")]]),
        _item("2h", "Cybersecurity measures", "Cybersecurity measures put in place.", [], [record("red_team_run")]),
    )),
    AnnexSection(3, "Monitoring, functioning and control", (
        _item("3a", "Capabilities and limitations", "Capabilities and limitations in performance, including accuracy for specific persons or groups and overall.", [[inventory("limitations")], [check("fairness")]], [check("performance")]),
        _item("3b", "Foreseeable unintended outcomes", "Foreseeable unintended outcomes and sources of risk to health, safety, fundamental rights and discrimination.", [[inventory("out_of_scope_use")], [inventory("affected_persons")]]),
        _item("3c", "Human oversight measures", "Human oversight measures (Article 14), including technical measures to interpret outputs."),
        _item("3d", "Input data specifications", "Specifications on input data, as appropriate.", [[version("signature")]]),
    )),
    AnnexSection(4, "Appropriateness of the performance metrics", (
        _item("4", "Performance metrics", "Why the performance metrics are appropriate for this system.", [[check("performance"), evidence("conceptual_soundness_memo")]]),
    )),
    AnnexSection(5, "Risk management system", (
        _item("5", "Risk management system", "The risk management system in accordance with Article 9.", [[evidence("risk_assessment")]], [record("risk_policy")]),
    )),
    AnnexSection(6, "Changes through the lifecycle", (
        _item("6", "Relevant changes", "Relevant changes made by the provider to the system through its lifecycle.", [[record("versions")]]),
    )),
    AnnexSection(7, "Standards applied", (
        _item("7", "Harmonised standards and other specifications", "Harmonised standards applied, or the solutions adopted to meet Chapter III, Section 2, and other standards applied.", [[evidence("standards_statement")]]),
    )),
    AnnexSection(8, "EU declaration of conformity", (
        _item("8", "Declaration of conformity", "A copy of the EU declaration of conformity (Article 47).", [[evidence("declaration_of_conformity")]]),
    )),
    AnnexSection(9, "Post-market monitoring", (
        _item("9", "Post-market monitoring plan", "The system to evaluate performance after placing on the market (Article 72), including the monitoring plan.", [[record("monitoring_plan")], [record("telemetry_monitor")]], [check("drift")]),
    )),
)  # fmt: skip
ITEMS: dict[str, AnnexItem] = {item.key: item for section in ANNEX_IV for item in section.items}


def section_check_kinds(number: int) -> list[str]:
    """The check kinds whose runs supply an item of section ``number`` (for evidence-to-control maps)."""
    kinds = [
        source.name
        for section in ANNEX_IV
        if section.number == number
        for item in section.items
        for source in (*(s for alternative in item.supplied_by for s in alternative), *item.context)
        if source.kind == "check"
    ]
    return list(dict.fromkeys(kinds))
