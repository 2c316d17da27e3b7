"""The evidence digest: what a request binds, and invalidation when the evidence moves under a signer."""

import hashlib
import io

import pytest
import rfc8785
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from monitoring.models import MonitoringPlan
from registry import storage
from tests.workflow.conftest import record_run, run_check
from tests.workflow.helpers import error, events, request_approval, sign
from workflow.models import ApprovalRequest, Signature
from workflow.services import evidence as evidence_services

pytestmark = pytest.mark.django_db


def add_document(actor, version, text: str):
    upload = storage.upload_from_file(io.BytesIO(text.encode()), "addendum.txt")
    return evidence_services.evidence_add(
        actor=actor, version=version, evidence_type="data_review", title="Addendum", upload=upload
    )


def assert_invalidated(response, approval: dict) -> None:
    """409 evidence_changed naming both digests; the request is invalidated and that is audited."""
    assert response.status_code == 409, response.json()
    assert error(response)["code"] == "evidence_changed"
    details = error(response)["details"]
    assert details["requested_digest"] == approval["evidence_digest"]
    assert details["current_digest"] != approval["evidence_digest"]
    request = ApprovalRequest.objects.get(pk=approval["id"])
    assert request.status == "invalidated"
    event = events("approval.invalidated")[-1]
    assert event.object_id == str(approval["id"])
    assert (event.before, event.after) == (
        {"digest": details["requested_digest"]},
        {"digest": details["current_digest"]},
    )


def assert_recomputable_from_the_api(api, user, manifest: dict) -> None:
    """docs/GOVERNANCE.md's recipe: each part of the manifest re-derived from what the API serves."""
    client = api.as_user(user)
    model, version = manifest["model"], manifest["version"]
    download = client.get(reverse("api:model-version-download", args=[model, version]))
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == manifest["artifact"]["sha256"]
    for check in manifest["checks"]:
        results = client.get(reverse("api:check-run-detail", args=[check["run"]])).json()["results"]
        assert hashlib.sha256(rfc8785.dumps(results)).hexdigest() == check["result_sha256"]
    query = {"model_version__model__name": model, "model_version__version": version}
    documents = client.get(reverse("api:evidence-list"), query).json()["results"]
    assert sorted(d["sha256"] for d in documents) == sorted(e["sha256"] for e in manifest["evidence"])


def test_it_binds_a_recomputable_manifest_and_invalidates_on_new_evidence_or_a_rerun(
    api, maya, victor, ready_version, datasets
):
    """GIVEN a tier-1 version with real check runs and its evidence, and a production request for it
    WHEN a document is attached before victor signs; then, on a new request, a check is re-run
    THEN each signature attempt answers 409 evidence_changed, stores nothing and invalidates the
    request; a third request over the settled evidence is signed."""
    first = request_approval(api, maya, ready_version).json()
    manifest = first["evidence_manifest"]
    assert hashlib.sha256(rfc8785.dumps(manifest)).hexdigest() == first["evidence_digest"]
    assert manifest["artifact"]["sha256"] == ready_version.artifact_sha256
    training, validation = datasets
    assert [(d["role"], d["sha256"]) for d in manifest["datasets"]] == [
        ("training", training.file_sha256),
        ("validation", validation.file_sha256),
    ]
    runs = {run.kind: run for run in ready_version.check_runs.all()}
    assert {c["kind"]: c["result_sha256"] for c in manifest["checks"]} == {
        kind: run.result_sha256 for kind, run in runs.items()
    }
    assert sorted(d["type"] for d in manifest["evidence"]) == [
        "conceptual_soundness_memo",
        "data_review",
        "model_documentation",
    ]

    assert_recomputable_from_the_api(api, victor, manifest)

    add_document(maya, ready_version, "A late addendum to the data review.")
    assert_invalidated(sign(api, victor, first["id"], "review"), first)

    second = request_approval(api, maya, ready_version).json()
    assert second["evidence_digest"] != first["evidence_digest"]
    run_check(maya, "performance", ready_version, current=validation)
    assert_invalidated(sign(api, victor, second["id"], "review"), second)

    third = request_approval(api, maya, ready_version).json()
    assert sign(api, victor, third["id"], "review").status_code == 201
    assert not Signature.objects.exclude(request_id=third["id"]).exists()
    assert list(ApprovalRequest.objects.order_by("pk").values_list("status", flat=True)) == [
        "invalidated",
        "invalidated",
        "pending",
    ]


def test_it_invalidates_a_request_part_way_through_its_stages(api, maya, victor, rita, quick_ready_version):
    """GIVEN a request whose validation stage victor has signed
    WHEN a check is re-run and rita then signs the risk stage
    THEN 409 evidence_changed: the request is invalidated, victor's signature stays as it was."""
    approval = request_approval(api, maya, quick_ready_version).json()
    assert sign(api, victor, approval["id"], "review").status_code == 201
    record_run(maya, quick_ready_version, "drift")

    assert_invalidated(sign(api, rita, approval["id"], "approval"), approval)

    assert list(Signature.objects.values_list("signer__username", flat=True)) == ["victor"]
    late = sign(api, rita, approval["id"], "approval")
    assert error(late)["code"] == "request_closed"


def test_it_keeps_the_same_bytes_as_the_same_evidence(api, maya, victor, quick_ready_version):
    """GIVEN a pending request
    WHEN a document already attached is uploaded again
    THEN the API answers 200 with the existing document and the request can still be signed."""
    approval = request_approval(api, maya, quick_ready_version).json()
    existing = quick_ready_version.evidence.get(evidence_type="data_review")
    with storage.open_blob(existing.file_key) as handle:
        content = handle.read()

    again = api.as_user(maya).post(
        reverse("api:evidence-list"),
        {
            "model": "credit-scoring",
            "version": 1,
            "evidence_type": "data_review",
            "file": SimpleUploadedFile("again.txt", content),
        },
        format="multipart",
    )

    assert again.status_code == 200, again.json()
    assert again.json()["id"] == existing.pk
    assert sign(api, victor, approval["id"], "review").status_code == 201


def test_it_leaves_scheduled_monitoring_runs_out_of_the_evidence(
    api, maya, victor, quick_ready_version, credit_risk
):
    """GIVEN a pending request for a version that a monitoring plan also checks on production batches
    WHEN the plan's scheduled run finishes before victor signs
    THEN the signature is accepted: monitoring results are not the validation evidence signed."""
    from tests.monitoring import factories

    approval = request_approval(api, maya, quick_ready_version).json()
    plan = MonitoringPlan.objects.create(
        model_version=quick_ready_version,
        dataset=factories.make_dataset(maya, credit_risk, name="production-batches"),
        checks=[{"kind": "drift", "config": {}}],
        interval_seconds=3600,
        created_by=maya,
    )
    record_run(None, quick_ready_version, "drift", plan=plan)

    response = sign(api, victor, approval["id"], "review")

    assert response.status_code == 201, response.json()
