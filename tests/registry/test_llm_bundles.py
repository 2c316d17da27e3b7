"""LLM application bundles: component and bundle digests, idempotent registration, validation, the
evidence manifest and the gate's digest check, who may register, and the version page."""

from __future__ import annotations

import copy
import hashlib

import pytest
import rfc8785
from django.urls import reverse

from audit.models import AuditEvent
from monitoring.models import CheckRun
from registry.models import ModelVersion
from registry.services import inventory
from tests.registry.conftest import HIGH_RISK, make_dataset, make_dataset_version, make_model
from tests.workflow.conftest import to_validation
from tests.workflow.helpers import approved_request, sign
from workflow.services.evidence import evidence_manifest, manifest_digest

pytestmark = pytest.mark.django_db

COMPONENTS = ("foundation_model", "prompt_templates", "retrieval_corpus", "tools", "guardrails")
BUNDLE = {
    "foundation_model": {
        "provider": "azure-openai",
        "model_id": "gpt-4o",
        "version": "2024-08-06",
        "snapshot_date": "2024-08-06",
        "parameters": {"temperature": 0.2, "top_p": 1, "max_tokens": 800, "stop": ["\n\nUser:"]},
    },
    "prompt_templates": [
        {
            "name": "system",
            "text": "You answer questions about the bank's loan policy.\nCite {{ policy_name }} only.",
            "variables": ["policy_name"],
        },
        {
            "name": "user",
            "text": "Question: {{question}}\nContext:\n{{ context }}",
            "variables": ["question", "context"],
        },
    ],
    "retrieval_corpus": {
        "manifest": [{"uri": "s3://policies/lending-2026.pdf", "sha256": "ab" * 32}],
    },
    "tools": [{"name": "rate-lookup", "version": "1.2.0", "kind": "mcp_server", "scopes": ["rates:read"]}],
    "guardrails": {"pii_filter": {"enabled": True}, "topics": {"deny": ["investment advice"]}},
}


def sha(value) -> str:
    """The independent computation: SHA-256 of the RFC 8785 bytes."""
    return hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def url(model_name: str) -> str:
    return reverse("api:model-bundle", args=[model_name])


@pytest.fixture
def app(maya, credit_risk):
    return make_model(
        maya,
        credit_risk,
        name="loan-assistant",
        kind="llm_application",
        intended_users="Branch staff answering customers' loan questions.",
        human_oversight="Staff read every answer before passing it on.",
        autonomy_level="human_in_the_loop",
    )


def expected_components(bundle: dict, corpus_datasets: list[dict]) -> dict:
    corpus = bundle.get("retrieval_corpus", {})
    return {
        "foundation_model": bundle["foundation_model"],
        "prompt_templates": bundle["prompt_templates"],
        "retrieval_corpus": {"datasets": corpus_datasets, "manifest": corpus.get("manifest", [])},
        "tools": bundle.get("tools", []),
        "guardrails": bundle.get("guardrails", {}),
    }


def test_digests_are_recomputable_the_same_bundle_is_one_version_and_any_change_is_a_new_one(
    api, maya, credit_risk, app
):
    """GIVEN an LLM application and a bundle naming a dataset version as part of its corpus
    WHEN the bundle is registered, registered again, then registered with each component changed in turn
    THEN each component digest and the bundle digest equal hashlib + rfc8785 over the components; the
    second registration returns the same version (200, one audit event); each change makes a new version
    in which only that component's digest differs."""
    corpus = make_dataset_version(maya, make_dataset(maya, credit_risk, name="loan-policies"))
    bundle = copy.deepcopy(BUNDLE)
    bundle["retrieval_corpus"]["datasets"] = [f"loan-policies:{corpus.version}"]
    client = api.as_user(maya)

    first = client.post(url(app.name), {"bundle": bundle, "description": "first"}, format="json")

    assert first.status_code == 201, first.json()
    body = first.json()
    stored = body["bundle"]
    want = expected_components(
        BUNDLE, [{"dataset": "loan-policies", "version": corpus.version, "sha256": corpus.file_sha256}]
    )
    assert stored["components"] == want
    assert stored["component_digests"] == {name: sha(want[name]) for name in COMPONENTS}
    assert stored["digest"] == sha({name: sha(want[name]) for name in COMPONENTS})
    assert body["artifact"]["sha256"] == stored["digest"]
    assert body["artifact"]["format"] == "llm-bundle"
    assert body["version"] == 1

    again = client.post(url(app.name), {"bundle": bundle, "description": "again"}, format="json")
    assert again.status_code == 200
    assert again.json()["version"] == 1
    assert AuditEvent.objects.filter(action="model_version.submitted").count() == 1

    changes = {
        "foundation_model": lambda b: b["foundation_model"]["parameters"].update(temperature=0.3),
        "prompt_templates": lambda b: b["prompt_templates"][0].update(
            text=b["prompt_templates"][0]["text"] + " Be brief."
        ),
        "retrieval_corpus": lambda b: b["retrieval_corpus"]["manifest"][0].update(sha256="cd" * 32),
        "tools": lambda b: b["tools"][0].update(version="1.3.0"),
        "guardrails": lambda b: b["guardrails"]["pii_filter"].update(enabled=False),
    }
    previous = stored
    for number, (component, change) in enumerate(changes.items(), start=2):
        bundle = copy.deepcopy(bundle)
        change(bundle)
        response = client.post(url(app.name), {"bundle": bundle}, format="json")
        assert response.status_code == 201, (component, response.json())
        now = response.json()["bundle"]
        assert response.json()["version"] == number
        differing = {
            name
            for name in COMPONENTS
            if now["component_digests"][name] != previous["component_digests"][name]
        }
        assert differing == {component}
        assert now["digest"] == sha(now["component_digests"]) != previous["digest"]
        previous = now
    assert ModelVersion.objects.filter(model=app).count() == 6


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda b: b["prompt_templates"][1].update(variables=["question"]),
            "bundle.prompt_templates.1.variables",
            "context",
        ),
        (
            lambda b: b["prompt_templates"][0].update(variables=["policy_name", "tone"]),
            "bundle.prompt_templates.0.variables",
            "tone are declared but the text does not use them",
        ),
        (
            lambda b: b["foundation_model"]["parameters"].update(temperature=2.5),
            "bundle.foundation_model.parameters.temperature",
            "2",
        ),
        (
            lambda b: b["foundation_model"]["parameters"].update(top_p=-0.1),
            "bundle.foundation_model.parameters.top_p",
            "0",
        ),
        (
            lambda b: b["foundation_model"]["parameters"].update(max_tokens=1_000_001),
            "bundle.foundation_model.parameters.max_tokens",
            "1000000",
        ),
        (
            lambda b: b["foundation_model"]["parameters"].update(max_tokens=0),
            "bundle.foundation_model.parameters.max_tokens",
            "1",
        ),
        (
            lambda b: b["foundation_model"]["parameters"].update(creativity=1),
            "bundle.foundation_model.parameters.creativity",
            "Unknown field",
        ),
        (
            lambda b: b["prompt_templates"][1].update(name="system"),
            "bundle.prompt_templates.1.name",
            "Two templates",
        ),
        (lambda b: b.pop("foundation_model"), "bundle.foundation_model", "required"),
        (
            lambda b: b["retrieval_corpus"].update(datasets=["nowhere:1"]),
            "bundle.retrieval_corpus.datasets",
            "nowhere",
        ),
    ],
    ids=[
        "undeclared-variable",
        "unused-variable",
        "temperature",
        "top_p",
        "max_tokens-high",
        "max_tokens-zero",
        "unknown-parameter",
        "duplicate-template",
        "missing-component",
        "unknown-dataset",
    ],
)
def test_a_bad_bundle_is_a_400_naming_the_field_and_writes_nothing(api, maya, app, change, field, words):
    bundle = copy.deepcopy(BUNDLE)
    change(bundle)

    response = api.as_user(maya).post(url(app.name), {"bundle": bundle}, format="json")

    assert response.status_code == 400, response.json()
    fields = response.json()["error"]["fields"]
    assert field in fields, fields
    assert words in " ".join(fields[field])
    assert not ModelVersion.objects.filter(model=app).exists()


def test_kinds_do_not_mix(api, maya, credit_risk, app):
    """A bundle for an ordinary model, or an artifact for an LLM application, is a 400; the kind of a model
    with versions is fixed."""
    ordinary = make_model(maya, credit_risk, name="credit-scoring")
    bundle_to_model = api.as_user(maya).post(url(ordinary.name), {"bundle": BUNDLE}, format="json")
    assert bundle_to_model.status_code == 400
    assert "bundle" in bundle_to_model.json()["error"]["fields"]

    upload = api.as_user(maya).post(
        reverse("api:model-version-list", args=[app.name]), {"artifact": _file()}, format="multipart"
    )
    assert upload.status_code == 400
    assert "bundles/" in str(upload.json()["error"]["fields"]["artifact"])

    api.as_user(maya).post(url(app.name), {"bundle": BUNDLE}, format="json")
    change = api.as_user(maya).patch(
        reverse("api:model-detail", args=[app.name]), {"kind": "ml_model"}, format="json"
    )
    assert change.status_code == 400
    assert "kind" in change.json()["error"]["fields"]


def _file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("model.onnx", b"not really onnx")


def test_permission_matrix(api, maya, victor, rita, aaron, olga, admin_user, app):
    """Only the application's ML engineers (and an administrator) register bundles; other roles of the team
    get a 403, another team's engineer a 404 (the model does not exist for them)."""
    expected = {maya: 201, admin_user: 200, victor: 403, rita: 403, aaron: 403, olga: 404, None: 401}
    for user, status in expected.items():
        response = api.as_user(user).post(url(app.name), {"bundle": BUNDLE}, format="json")
        assert response.status_code in ((status, 403) if user is None else (status,)), (user, response.json())
    assert ModelVersion.objects.filter(model=app).count() == 1


def test_the_approval_signs_the_bundle_digest_and_the_gate_checks_the_shipped_digest(api, maya, credit_risk):
    """GIVEN a tier-1 LLM application in validation with a bundle version and a production approval
    WHEN the manifest is frozen and the gate is asked with the right digest, a wrong one and none
    THEN the manifest holds the bundle and component digests (so the signed digest covers them); the gate
    opens for the right digest (bare or sha256:-prefixed) and refuses another with digest_mismatch."""
    app = to_validation(
        maya,
        make_model(maya, credit_risk, name="loan-assistant", kind="llm_application", tier_answers=HIGH_RISK),
    )
    created = api.as_user(maya).post(url(app.name), {"bundle": BUNDLE}, format="json").json()
    version = ModelVersion.objects.get(model=app, version=created["version"])
    digest = created["bundle"]["digest"]

    approval = approved_request(version, "production", requester=maya)

    manifest = approval.evidence_manifest
    assert manifest["bundle"] == {"digest": digest, "components": created["bundle"]["component_digests"]}
    assert manifest["artifact"]["sha256"] == digest
    assert approval.evidence_digest == sha(manifest) == manifest_digest(evidence_manifest(version))

    def ask(**extra):
        query = {"model": app.name, "version": version.version, "environment": "production", **extra}
        response = api.as_user(maya).get(reverse("api:gate"), query)
        assert response.status_code == 200, response.json()
        return response.json()

    assert ask(digest=digest)["allowed"] is True
    assert ask(digest=f"sha256:{digest.upper()}")["allowed"] is True
    assert ask()["allowed"] is True
    wrong = ask(digest="0" * 64)
    assert wrong["allowed"] is False
    assert wrong["codes"] == ["digest_mismatch"]
    assert "the digest you are about to ship" in wrong["reasons"][0]
    assert "differs from the approved version's" in wrong["reasons"][0]
    assert digest in wrong["reasons"][0]
    deploy = {"model": app.name, "version": version.version, "environment": "production"}
    refused = api.as_user(maya).post(
        reverse("api:deployment-list"), {**deploy, "digest": "0" * 64}, format="json"
    )
    assert refused.status_code == 409
    assert "digest_mismatch" in str(refused.json())
    shipped = api.as_user(maya).post(
        reverse("api:deployment-list"), {**deploy, "digest": digest}, format="json"
    )
    assert shipped.status_code == 201, shipped.json()
    # the record keeps what was shipped, as the gate checked it
    assert shipped.json()["shipped_digest"] == digest.lower().removeprefix("sha256:")
    bad = api.as_user(maya).get(
        reverse("api:gate"), {"model": app.name, "environment": "production", "digest": "xyz"}
    )
    assert bad.status_code == 400
    assert "digest" in bad.json()["error"]["fields"]


def test_pages_show_the_bundle_and_artifact_uses_are_refused(client, maya, app):
    """The version page shows each component with its digest, the templates' text and variables, the
    parameters and the bundle digest; the model page the AI-system fields; downloading the artifact and a
    check that would load it are refused with a clear 400."""
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(maya)
    created = api.post(url(app.name), {"bundle": BUNDLE}, format="json").json()
    client.force_login(maya)

    page = client.get(reverse("model-version-detail", args=[app.name, 1])).content.decode()

    assert f'id="bundle-digest" class="digest">{created["bundle"]["digest"]}<' in page
    for name, digest in created["bundle"]["component_digests"].items():
        assert f'data-component="{name}">{digest}<' in page
    assert '<pre class="prompt-text">Question: {{question}}\nContext:\n{{ context }}</pre>' in page
    assert "<code>question</code>, <code>context</code>" in page
    assert "temperature=0.2" in page
    assert "max_tokens=800" in page
    assert "rates:read" in page
    assert "s3://policies/lending-2026.pdf" in page
    assert "Download artifact" not in page

    model_page = client.get(reverse("model-detail", args=[app.name])).content.decode()
    assert "LLM application" in model_page
    assert "Staff read every answer" in model_page
    assert "Human in the loop" in model_page
    assert 'id="upload-version"' not in model_page

    download = api.get(reverse("api:model-version-download", args=[app.name, 1]))
    assert download.status_code == 400
    assert "no artifact" in str(download.json()["error"])
    version = ModelVersion.objects.get(model=app, version=1)
    # the Annex IV document names the bundle, not an empty artifact file
    from reports.services.assemble import documentation

    assert documentation._software(version) == (
        f"LLM application bundle on azure-openai gpt-4o 2024-08-06 (digest {version.artifact_sha256})."
    )
    assert (
        documentation._changes(version)[0].description
        == f"LLM application bundle (digest {version.artifact_sha256})."
    )
    data = make_dataset_version(maya, make_dataset(maya, app.team, name="questions"))
    check = api.post(
        reverse("api:check-run-list"),
        {
            "kind": "explainability",
            "model": app.name,
            "version": 1,
            "current_dataset": f"questions:{data.version}",
        },
        format="json",
    )
    assert check.status_code == 400, check.json()
    assert "LLM application bundle: it has no model artifact" in check.json()["error"]["fields"]["version"][0]
    assert not CheckRun.objects.exists()


def test_inventory_fields_are_editable_through_the_api(api, maya, app):
    response = api.as_user(maya).patch(
        reverse("api:model-detail", args=[app.name]),
        {"autonomy_level": "assistive", "intended_users": "Call-centre staff."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["kind"], body["autonomy_level"], body["intended_users"]) == (
        "llm_application",
        "assistive",
        "Call-centre staff.",
    )
    assert inventory.model_facts(app.__class__.objects.get(pk=app.pk))["autonomy_level"] == "assistive"
    refused = api.as_user(maya).patch(
        reverse("api:model-detail", args=[app.name]), {"autonomy_level": "fully"}, format="json"
    )
    assert refused.status_code == 400
    assert "autonomy_level" in refused.json()["error"]["fields"]


def test_a_new_bundle_voids_the_pending_approval_of_the_previous_one(api, maya, victor, credit_risk):
    """GIVEN v1 of a tier-1 LLM application with a pending production request, and v2 registered with
    only its user prompt changed
    WHEN victor signs v1's request
    THEN 409 evidence_changed naming v2 and the changed component; the request is invalidated with that
    reason and the audit event names the superseding version and the components that changed."""
    app = to_validation(
        maya,
        make_model(maya, credit_risk, name="loan-assistant", kind="llm_application", tier_answers=HIGH_RISK),
    )
    first = api.as_user(maya).post(url(app.name), {"bundle": BUNDLE}, format="json").json()
    v1 = ModelVersion.objects.get(model=app, version=first["version"])
    pending = approved_request(v1, "production", requester=maya)
    type(pending).objects.filter(pk=pending.pk).update(status="pending", stage_index=0, completed_at=None)
    changed = copy.deepcopy(BUNDLE)
    changed["prompt_templates"][1]["text"] = "Question: {{question}}\nUse only:\n{{ context }}"
    second = api.as_user(maya).post(url(app.name), {"bundle": changed}, format="json").json()
    assert second["version"] == v1.version + 1

    signed = sign(api, victor, pending.pk, "review")

    assert signed.status_code == 409, signed.json()
    assert signed.json()["error"]["code"] == "evidence_changed"
    assert f"v{second['version']}" in signed.json()["error"]["message"]
    assert "prompt_templates" in signed.json()["error"]["message"]
    assert signed.json()["error"]["message"].endswith(f"Request approval of v{second['version']}.")
    pending.refresh_from_db()
    assert pending.status == "invalidated"
    assert pending.outcome_reason.startswith(f"Superseded by v{second['version']}")
    event = AuditEvent.objects.filter(action="approval.invalidated").latest("seq")
    assert (event.after["superseded_by"], event.after["changed_components"]) == (
        second["version"],
        ["prompt_templates"],
    )
