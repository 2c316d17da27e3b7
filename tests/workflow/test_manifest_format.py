"""The typed evidence manifest (workflow.services.manifests): approvals signed before it still verify.

A signer signs the SHA-256 of the manifest's RFC 8785 bytes, so reading a stored manifest through the
types and writing it out again must give the same bytes; a request frozen by the previous release must
be signable, and its signatures must still match the evidence they describe.
"""

from __future__ import annotations

import hashlib

import pytest
import rfc8785

from reports.services.assemble import common
from tests.workflow.helpers import sign
from workflow.models import ApprovalRequest, EvidenceDocument, Policy
from workflow.services import evidence as evidence_services
from workflow.services.manifests import EvidenceManifest, ManifestFormatError

pytestmark = pytest.mark.django_db

# An approval's manifest and digest as the release before the types stored them (tests/reports'
# ``approved`` fixture, recorded at 1b716c8).
SIGNED_BEFORE = {
    "artifact": {
        "format": "skops",
        "sha256": "609ab997be078ffb00380cef56485c76e34aa4e36e28de4e4754fbdff63fd7f6",
        "size": 10458,
    },
    "checks": [
        {
            "kind": "data_quality",
            "outcome": "pass",
            "result_sha256": "fdde71285f7749f43e5afbd41e63ccb82ccc408cbaf0a89ea84e37206f62234d",
            "run": 6,
        },
        {
            "kind": "drift",
            "outcome": "pass",
            "result_sha256": "66fc7f5b0c94574b9c2d47d3a8618c83485832b52c300ff46c9467bbbb2dddce",
            "run": 9,
        },
        {
            "kind": "explainability",
            "outcome": "pass",
            "result_sha256": "26fcf9074d0b591f066d2dbded68f4aef523db39ae64150b0f2311d937e55318",
            "run": 10,
        },
        {
            "kind": "fairness",
            "outcome": "pass",
            "result_sha256": "15cc167173c00067046c241f326a78e9cd9030d65402d6d59120431472e44f65",
            "run": 8,
        },
        {
            "kind": "performance",
            "outcome": "pass",
            "result_sha256": "18a3e4d32e87eb19654d0ecb8ae95d2629868d52d1477b48ca9d086c7e9d5b93",
            "run": 7,
        },
    ],
    "datasets": [],
    "evidence": [
        {
            "sha256": "99f0640a4ec09771ff49aed4835b0be938c425832a65f0db79901eeecdf0c29b",
            "title": "conceptual_soundness_memo",
            "type": "conceptual_soundness_memo",
        },
        {
            "sha256": "88bb4d3aa1b86fc06fd47d37b21a1a8e9a32577dba92e81b08d57277b262af47",
            "title": "data_review",
            "type": "data_review",
        },
        {
            "sha256": "dfc39b7e79a41137370a537743168406bdb9c3be903b03f2fe4b4426bf30f89b",
            "title": "model_documentation",
            "type": "model_documentation",
        },
    ],
    "model": "credit-scoring",
    "schema": "attest.evidence-manifest.v1",
    "version": 1,
}
SIGNED_BEFORE_DIGEST = "af7ecdcd509cafccc3581390a9c6dd29968d71f2318ade2dacc4ef91ac127b62"


def digest_of(stored: dict) -> str:
    return hashlib.sha256(rfc8785.dumps(stored)).hexdigest()


def test_a_stored_manifest_reads_and_writes_back_to_the_digest_its_signers_signed():
    typed = EvidenceManifest.from_stored(SIGNED_BEFORE)

    assert typed.format_version == 1
    assert typed.to_stored() == SIGNED_BEFORE
    assert typed.digest() == digest_of(SIGNED_BEFORE) == SIGNED_BEFORE_DIGEST
    assert evidence_services.manifest_digest(SIGNED_BEFORE) == SIGNED_BEFORE_DIGEST
    assert typed.check_of("fairness").run == 8
    assert evidence_services.manifest_differences(typed, EvidenceManifest.from_stored(SIGNED_BEFORE)) == []


def test_a_manifest_without_a_schema_is_version_1_and_keeps_its_bytes():
    older = {key: value for key, value in SIGNED_BEFORE.items() if key != "schema"}
    older["datasets"] = [{"name": "applications", "role": "training", "sha256": "ab" * 32, "version": 2}]
    older["artifact"] = SIGNED_BEFORE["artifact"] | {"note": "a key this release does not declare"}

    typed = EvidenceManifest.from_stored(older)

    assert typed.format_version == 1
    assert typed.to_stored() == older
    assert typed.digest() == digest_of(older)


def test_it_refuses_a_manifest_of_a_newer_format():
    with pytest.raises(ManifestFormatError, match="version 2"):
        EvidenceManifest.from_stored(SIGNED_BEFORE | {"schema": "attest.evidence-manifest.v2"})


def previous_release_manifest(version) -> dict:
    """``evidence_manifest`` as the release before the types wrote it (a plain dict, key by key)."""
    runs = evidence_services.latest_check_runs(version)
    documents = EvidenceDocument.objects.filter(model_version=version).order_by("evidence_type_id", "sha256")
    return {
        "schema": "attest.evidence-manifest.v1",
        "model": version.model.name,
        "version": version.version,
        "artifact": {
            "sha256": version.artifact_sha256,
            "size": version.artifact_size,
            "format": version.artifact_format,
        },
        "datasets": evidence_services.version_datasets(version),
        "checks": [
            {"kind": kind, "run": run.pk, "outcome": run.outcome, "result_sha256": run.result_sha256}
            for kind, run in sorted(runs.items())
        ],
        "evidence": [
            {"type": document.evidence_type_id, "title": document.title, "sha256": document.sha256}
            for document in documents
        ],
    }


def test_a_request_frozen_by_the_previous_release_is_signed_and_still_matches(
    api, maya, victor, quick_ready_version
):
    """GIVEN a pending request whose manifest and digest the previous release stored
    WHEN victor signs it, and the signed record is read back
    THEN the signature is taken (the evidence did not change), and the record's digest, the digest a
    request made now would sign and the report's digest note all agree with what was signed."""
    version = quick_ready_version
    stored = previous_release_manifest(version)
    policy = Policy.objects.get(tier=version.model.risk_tier, is_active=True)
    request = ApprovalRequest.objects.create(
        model_version=version,
        environment="production",
        policy=policy,
        stage_keys=policy.gated_environments["production"],
        evidence_manifest=stored,
        evidence_digest=digest_of(stored),
        justification="Frozen by the previous release.",
        requested_by=maya,
    )

    assert evidence_services.evidence_manifest(version) == stored
    assert sign(api, victor, request.pk, "review").status_code == 201
    signed = evidence_services.signed_evidence(version, request)
    assert signed.digest == signed.current_digest == request.evidence_digest
    assert signed.manifest.to_stored() == stored
    assert common.digest_note(request, signed.manifest, signed.digest) == "matches the approved manifest"
