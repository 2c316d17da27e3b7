"""The evidence manifest an approval signs, typed: its parts, its format version and its digest.

The manifest is stored on the approval request (``evidence_manifest``) and its digest (SHA-256 of the
RFC 8785 bytes) is what every signer signed, so reading it must never change it: each part keeps the
keys it does not declare, and ``to_stored()`` gives back exactly the keys that were read. A manifest
read from an approval and written out again has the same canonical JSON, hence the same digest.

Versions: ``schema`` is ``attest.evidence-manifest.v<FORMAT_VERSION>``. A stored manifest without
``schema`` is version 1 (and stays without it when written back); one of a newer version is refused.
The JSON Schema is published in ``docs/schemas/evidence-manifest.json``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Self

import rfc8785
from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1
SCHEMA_PREFIX = "attest.evidence-manifest.v"
MANIFEST_SCHEMA = f"{SCHEMA_PREFIX}{FORMAT_VERSION}"


class ManifestFormatError(ValueError):
    """A stored manifest this code cannot read (a newer version, or not a manifest)."""


class Part(BaseModel):
    """A part of the stored manifest: undeclared keys are kept, and written back as read."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    def to_stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ManifestArtifact(Part):
    sha256: str
    size: int | None = None
    format: str = ""


class ManifestBundle(Part):
    """An LLM application's bundle: its digest and each component's (present only for such a version, so
    the manifests of versions with an artifact keep their digest). The bundle digest is also
    ``artifact.sha256``; listing the component digests lets a reader see which part an approval covered."""

    digest: str
    components: dict[str, str]


class ManifestDataset(Part):
    role: str
    name: str
    version: int
    sha256: str


class ManifestCheck(Part):
    """The run of one check kind the approval rests on, pinned by id and result digest."""

    kind: str
    run: int
    outcome: str | None = None
    result_sha256: str


class ManifestDocument(Part):
    type: str
    title: str = ""
    sha256: str


class ManifestValidationDocument(Part):
    """The validation document authored in Attest, pinned by revision and content digest (present only for
    a version that has one, so manifests frozen before documents existed keep their digest)."""

    revision: int
    sha256: str
    rating: str = ""


class ManifestRedTeam(Part):
    """The latest red-team run of the version, pinned by id, report digest and result digest (present only
    for a version that has one, so manifests frozen before red-team runs existed keep their digest)."""

    run: int
    format: str = ""
    report_sha256: str
    result_sha256: str


class ManifestJudgedEvaluation(Part):
    """An imported judged evaluation of the version (present only for a version that has some)."""

    id: int
    format: str = ""
    file_sha256: str
    labels_sha256: str = ""
    result_sha256: str


class EvidenceManifest(Part):
    """Everything an approval of a model version rests on (``workflow.services.evidence``)."""

    schema_name: str = Field(MANIFEST_SCHEMA, alias="schema")
    model: str = ""
    version: int | None = None
    artifact: ManifestArtifact | None = None
    bundle: ManifestBundle | None = None
    datasets: list[ManifestDataset] = []
    checks: list[ManifestCheck] = []
    evidence: list[ManifestDocument] = []
    validation_document: ManifestValidationDocument | None = None
    red_team: ManifestRedTeam | None = None
    judged_evaluations: list[ManifestJudgedEvaluation] = []

    @property
    def format_version(self) -> int:
        return version_of(self.schema_name)

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> Self:
        """The typed manifest of a stored one (an empty one for a request that stored none)."""
        stored = stored or {}
        version = version_of(stored.get("schema", MANIFEST_SCHEMA))
        if version > FORMAT_VERSION:
            raise ManifestFormatError(
                f"Evidence manifest of format version {version}; this release reads up to {FORMAT_VERSION}."
            )
        return cls.model_validate(stored)

    def digest(self) -> str:
        """SHA-256 (hex) of the RFC 8785 bytes of the stored form: the digest approvals sign."""
        return hashlib.sha256(rfc8785.dumps(self.to_stored())).hexdigest()

    def check_of(self, kind: str) -> ManifestCheck | None:
        return next((check for check in self.checks if check.kind == kind), None)


def version_of(schema: Any) -> int:
    text = str(schema)
    if not (text.startswith(SCHEMA_PREFIX) and text[len(SCHEMA_PREFIX) :].isdigit()):
        raise ManifestFormatError(f"Not an evidence-manifest schema: {schema!r}.")
    return int(text[len(SCHEMA_PREFIX) :])


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the stored manifest."""
    schema = EvidenceManifest.model_json_schema(by_alias=True)
    return schema | {"title": "Attest evidence manifest", "$comment": f"format {MANIFEST_SCHEMA}"}
