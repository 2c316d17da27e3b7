"""Validation documents written in Attest: who may write and read them, and their place in the signed evidence."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.workflow.helpers import approved_request, error, events, gate, request_approval, sign
from workflow.models import ApprovalRequest, Policy, ValidationDocumentRevision, ValidationTemplate
from workflow.services.evidence import EvidenceManifest

pytestmark = pytest.mark.django_db

COMPLETE = {
    "sections": {
        "summary": {
            "text": "The model is **fit for retail credit**.",
            "challenge": "Asked for a challenger.",
        },
        "scope": {"text": "Retail applications in the EU."},
        "conceptual_soundness": {"text": "Logistic regression on bureau data."},
        "outcomes": {"text": "ROC AUC above the policy floor.", "commentary": "Stable across folds."},
        "limitations": {"text": "Not for SME lending."},
    },
    "rating": "satisfactory_with_conditions",
    "conditions": [{"text": "Add a challenger model", "due": "2027-03-31"}],
}


def document_url(version) -> str:
    return reverse("api:validation-document", args=[version.model.name, version.version])


# Who reads (GET) and who writes (PATCH) the document, API and page alike. maya is the version's submitter
# and the model's owner (first line: she reads what the second line writes about her model); olga is on
# another team and learns nothing (404).
MATRIX = [
    ("maya", 200, 403),
    ("victor", 200, 200),
    ("rita", 200, 200),
    ("aaron", 200, 403),
    ("admin_user", 200, 200),
    ("olga", 404, 404),
]


@pytest.mark.parametrize(("persona", "read", "write"), MATRIX)
def test_who_reads_and_who_writes_the_validation_document(
    request, api, client, persona, read, write, quick_ready_version
):
    user = request.getfixturevalue(persona)
    version = quick_ready_version
    body = {"sections": {"scope": {"text": f"Written by {persona}."}}, "rating": "satisfactory"}

    client_ = api.as_user(user)
    assert client_.get(document_url(version)).status_code == read
    written = client_.patch(document_url(version), body, format="json")
    assert written.status_code == write, written.content
    revisions = ValidationDocumentRevision.objects.filter(document__model_version=version)
    if write == 200:
        assert written.json()["revision"] == 1
        assert written.json()["sections"][1]["text"] == f"Written by {persona}."
        assert revisions.count() == 1
        assert events("validation_document.saved")[-1].after["revision"] == 1
    else:
        assert not revisions.exists()  # nothing half-written
        if write == 403:
            assert events("validation_document.refused")[-1].actor_id == user.pk

    client.force_login(user)
    page = client.get(reverse("validation-document", args=[version.model.name, version.version]))
    assert page.status_code == read
    if read == 200:
        assert (b'id="validation-form"' in page.content) == (write == 200)
        posted = client.post(
            reverse("validation-document", args=[version.model.name, version.version]),
            {
                "section": ["scope"],
                "s-scope-text": "From the page.",
                "rating": "satisfactory",
                "base_revision": "0" if write != 200 else "1",
            },
        )
        assert posted.status_code == (302 if write == 200 else 403)


def test_the_document_is_frozen_into_the_evidence_digest_and_an_edit_voids_the_request(
    api, console, maya, victor, quick_ready_version
):
    version = quick_ready_version
    # The tier's policy opts in: an approval needs a complete validation document.
    policy = Policy.objects.get(tier=1, is_active=True)
    sections = [
        {"key": "summary", "title": "Executive summary", "guidance": "", "required": True, "live_blocks": []},
        {
            "key": "outcomes",
            "title": "Outcomes analysis",
            "required": True,
            "live_blocks": [{"check": "performance"}],
        },
    ]
    added = console.post(
        reverse("admin:workflow_validationtemplate_add"),
        {"policy": policy.pk, "title": "Tier 1 validation report", "sections": json.dumps(sections),
         "required_for_approval": "on"},
    )  # fmt: skip
    assert added.status_code == 302, added.content
    template = ValidationTemplate.objects.get(policy=policy)
    assert template.sections[1]["guidance"] == ""  # normalised by the service
    assert events("validation_template.saved")[-1].object_id == str(template.pk)
    refused = request_approval(api, maya, version)
    assert refused.status_code == 409
    assert (
        "validation document: none has been written for this version" in error(refused)["details"]["missing"]
    )

    def write(body):
        return api.as_user(victor).patch(document_url(version), body, format="json")

    draft = write({"sections": {"summary": {"text": "Fine."}}})
    assert draft.json()["missing"] == [
        "the required section 'Outcomes analysis' is empty",
        "no overall rating has been given",
    ]
    refused = request_approval(api, maya, version)
    assert error(refused)["details"]["missing"] == [
        "validation document: the required section 'Outcomes analysis' is empty",
        "validation document: no overall rating has been given",
    ]
    # A stale editor is refused rather than silently overwriting revision 1.
    stale = write({"rating": "satisfactory", "base_revision": 0})
    assert stale.status_code == 409
    assert error(stale)["code"] == "revision_conflict"
    done = write(
        {"sections": {"outcomes": {"text": "AUC 0.81."}}, "rating": "satisfactory", "base_revision": 1}
    ).json()
    assert (done["revision"], done["complete"]) == (2, True)

    approval = request_approval(api, maya, version).json()
    manifest = EvidenceManifest.from_stored(ApprovalRequest.objects.get(pk=approval["id"]).evidence_manifest)
    assert manifest.validation_document.revision == 2
    assert manifest.validation_document.sha256 == done["content_sha256"]
    assert manifest.digest() == approval["evidence_digest"]
    shown = console.get(reverse("approval-detail", args=[approval["id"]])).content.decode()
    assert (
        f"Revision 2</a>, rated Satisfactory · content SHA-256 <code>{done['content_sha256']}</code>" in shown
    )

    # Saving the same content again changes nothing (no revision, the request stays valid) ...
    same = write({"rating": "satisfactory"}).json()
    assert same["revision"] == 2
    # ... an edit after the request is new evidence: the next signature invalidates the request.
    write({"sections": {"summary": {"text": "Fine, on reflection."}}})
    response = sign(api, victor, approval["id"], "review")
    assert response.status_code == 409
    assert error(response)["code"] == "evidence_changed"
    assert ApprovalRequest.objects.get(pk=approval["id"]).status == "invalidated"
    assert AuditEvent.objects.filter(action="approval.invalidated", object_id=str(approval["id"])).exists()


def test_bad_input_names_the_field_and_writes_nothing(api, victor, quick_ready_version):
    url = document_url(quick_ready_version)
    writer = api.as_user(victor)
    cases = [
        ({"sections": {"nope": {"text": "x"}}}, "sections.nope"),
        ({"rating": "great"}, "rating"),
        ({"rating": "satisfactory", "conditions": [{"text": "Do it", "due": "2027-01-01"}]}, "conditions"),
        ({"check_notes": {"999999": {"commentary": "x"}}}, "check_notes.999999"),
        ({"conditions": [{"text": "Do it", "due": "soon"}]}, "conditions"),
    ]
    for body, field in cases:
        response = writer.patch(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in str(error(response)), (body, error(response))
    assert not ValidationDocumentRevision.objects.exists()
    assert COMPLETE  # used by the export tests


def test_the_first_line_supplies_missing_annex_iv_items_on_the_page(client, maya, victor, quick_version):
    version = quick_version
    url = reverse("validation-annex-iv", args=[version.model.name, version.version])
    page_url = reverse("validation-document", args=[version.model.name, version.version])
    client.force_login(maya)
    assert b'name="item-1e"' in client.get(page_url).content
    client.post(url, {"item-1e": "Runs on x86 servers in the bank's data centre.", "item-zz": "ignored"})
    version.model.refresh_from_db()
    assert version.model.tags["annex_iv.1e"] == "Runs on x86 servers in the bank's data centre."
    assert "annex_iv.zz" not in version.model.tags
    assert events("model.changed")[-1].after["tags"]["annex_iv.1e"].startswith("Runs on x86")
    assert b'name="item-1e"' not in client.get(page_url).content  # supplied: no longer listed

    client.force_login(victor)  # the second line reads the list; the inventory is the first line's
    assert b'name="item-1f"' not in client.get(page_url).content
    assert client.post(url, {"item-1f": "Not mine to write."}).status_code == 403


def test_a_revision_after_the_approval_is_material_evidence_for_the_gate(
    api, maya, victor, quick_ready_version
):
    version = quick_ready_version
    url = document_url(version)
    api.as_user(victor).patch(url, COMPLETE, format="json")
    approved_request(version, "staging", requester=maya)
    assert gate(api, maya, version, "staging").json()["allowed"] is True

    api.as_user(victor).patch(
        url, {"sections": {"limitations": {"text": "Not for SME or corporate lending."}}}, format="json"
    )
    answer = gate(api, maya, version, "staging").json()
    assert answer["allowed"] is False  # tier 1 closes the gate on material evidence changes
    assert "evidence_changed_since_approval" in answer["codes"]
    assert answer["evidence_changes"] == [
        "the validation document was revised after the approval (revision 2; the approval signed revision 1)"
    ]
