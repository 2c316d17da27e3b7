"""MLflow import against a real ``mlflow server`` (tests/integrations/mlflow): what a registered model,
its versions, run, signature, aliases, tags and logged datasets become in Attest; that a re-import changes
nothing; that changes made in MLflow arrive through a poll; the verdict written back as tags, read with the
MLflow client; and the problems an import reports instead of failing."""

from __future__ import annotations

import httpx
import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from integrations.models import MlflowDatasetLink, MlflowModelLink, MlflowSync, MlflowVersionLink
from integrations.services import mlflow_sync, registries, writeback
from registry.models import ModelAlias, ModelVersion
from registry.models.lineage import LineageEdge
from tests.workflow.helpers import approved_request, move_model

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

READ_TAGS = """
import json, sys
from mlflow import MlflowClient
version = MlflowClient().get_model_version(sys.argv[1], sys.argv[2])
print(json.dumps(version.tags))
"""


def sync(registry, actor, model_name: str = "") -> MlflowSync:
    job, _ = mlflow_sync.sync_request(actor=actor, registry=registry, model_name=model_name, queue=False)
    finished = mlflow_sync.sync_run(sync_id=job.pk)
    assert finished.status == "succeeded", (finished.error, finished.result)
    return finished


def counts(job: MlflowSync) -> dict:
    return job.result["counts"]


def mlflow_tags(server, name: str, version: int) -> dict:
    return server.run_script(READ_TAGS, name, str(version))


def test_a_scikit_learn_version_arrives_with_its_run_signature_alias_and_tags(
    mlflow_server, registry, maya, mlflow_model_name
):
    made = mlflow_server.populate("sklearn", mlflow_model_name)

    job = sync(registry, maya)

    assert (counts(job)["versions_imported"], counts(job)["models_created"]) == (1, 1), job.result
    link = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name, mlflow_version=1)
    version = link.version
    assert version.model.name == mlflow_sync.attest_name(mlflow_model_name)
    assert version.model.team.name == "credit-risk"
    # MLflow 3 writes scikit-learn models as skops by default: executable in Attest, never unpickled
    assert (version.artifact_format, version.artifact_executable) == ("skops", True)
    assert version.framework == "sklearn"
    assert version.framework_version
    assert version.run_id == made["run_id"]
    assert version.run_link == f"{mlflow_server.url}/#/experiments/0/runs/{made['run_id']}"
    assert version.parameters == {key: str(value) for key, value in made["params"].items()}
    assert version.metrics == pytest.approx(made["metrics"])
    assert [column["name"] for column in version.signature["inputs"]] == made["signature_inputs"]
    assert link.tags == made["version_tags"]
    assert version.tags == made["version_tags"]
    assert ModelAlias.objects.get(model=version.model, name="champion").version == version
    # a model nobody has assessed yet is governed as the riskiest until its owner answers
    assert version.model.tier_answers == dict.fromkeys(version.model.tier_answers, "high")
    imported = AuditEvent.objects.get(action="mlflow.version_imported")
    assert imported.after["mlflow_version"] == 1
    assert imported.after["run_id"] == made["run_id"]


def test_a_re_import_changes_nothing(mlflow_server, registry, maya, mlflow_model_name):
    mlflow_server.populate("sklearn", mlflow_model_name)
    sync(registry, maya)
    versions, events = ModelVersion.objects.count(), AuditEvent.objects.count()

    again = sync(registry, maya)

    assert counts(again) == {"models": 1, "tags_written": 0, "versions_unchanged": 1}
    assert ModelVersion.objects.count() == versions
    # only the sync job's own events
    assert list(AuditEvent.objects.filter(seq__gt=0).order_by("seq").values_list("action", flat=True))[
        events:
    ] == ["mlflow_sync.requested", "mlflow_sync.started", "mlflow_sync.finished"]


def test_an_onnx_version_is_stored_as_an_executable_onnx_model(
    mlflow_server, registry, maya, mlflow_model_name
):
    mlflow_server.populate("onnx", mlflow_model_name)

    sync(registry, maya)

    version = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name).version
    assert (version.artifact_format, version.artifact_executable, version.framework) == ("onnx", True, "onnx")
    assert version.artifact_filename == "model.onnx"


def test_logged_datasets_become_dataset_versions_or_are_listed_as_unreachable(
    mlflow_server, registry, maya, olga, client, mlflow_model_name
):
    made = mlflow_server.populate("dataset", mlflow_model_name)

    sync(registry, maya)

    link = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name)
    served = next(item for item in made["datasets"] if item["source"].startswith("http"))
    elsewhere = next(item for item in made["datasets"] if not item["source"].startswith("http"))
    dataset_link = MlflowDatasetLink.objects.get(mlflow_name=served["name"])
    assert dataset_link.mlflow_digest == served["digest"]
    dataset_version = dataset_link.dataset_version
    # the bytes Attest holds are the file MLflow's source names
    assert dataset_version.file_sha256 == made["served_sha256"]
    assert dataset_version.role == "training"
    assert LineageEdge.objects.filter(
        kind="trained_on", src_dataset=dataset_version, dst_version=link.version
    ).exists()
    assert [(item["name"], item["digest"], item["context"]) for item in link.unresolved_datasets] == [
        (elsewhere["name"], elsewhere["digest"], "validation")
    ]
    assert "s3://" in link.unresolved_datasets[0]["source"]
    # the version's page says where it came from and what was not carried over
    client.force_login(maya)
    page = client.get(f"/models/{link.version.model.name}/versions/1/").content.decode()
    assert f"Version 1 of <code>{mlflow_model_name}</code> in the registry <strong>research</strong>" in page
    assert f"<code>{elsewhere['name']}</code> (validation, MLflow digest {elsewhere['digest']})" in page
    client.force_login(olga)
    assert client.get(f"/models/{link.version.model.name}/versions/1/").status_code == 404


def test_changes_made_in_mlflow_arrive_with_the_next_poll(mlflow_server, registry, maya, mlflow_model_name):
    mlflow_server.populate("sklearn", mlflow_model_name)
    sync(registry, maya)
    mlflow_server.populate("new-version", mlflow_model_name)
    mlflow_server.populate("alias", mlflow_model_name, "champion", "2")
    mlflow_server.populate("tag", mlflow_model_name, "1", "stage", "retired")

    registry.refresh_from_db()
    (poll,) = registries.polls_due(now=registry.last_synced_at.replace(year=registry.last_synced_at.year + 1))
    assert poll.trigger == "poll"
    assert poll.requested_by == registry.run_as
    job = mlflow_sync.sync_run(sync_id=poll.pk)

    assert (counts(job)["versions_imported"], counts(job)["versions_tags_changed"]) == (1, 1), job.result
    second = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name, mlflow_version=2).version
    assert ModelAlias.objects.get(model=second.model, name="champion").version == second
    first = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name, mlflow_version=1)
    assert first.tags["stage"] == "retired"
    moved = AuditEvent.objects.filter(action="model_version.alias_moved").order_by("-seq").first()
    assert (moved.before["version"], moved.after["version"]) == (1, 2)
    changed = AuditEvent.objects.get(action="mlflow.version_tags_changed")
    assert changed.after["tags"]["stage"] == "retired"


def test_an_alias_removed_in_mlflow_is_removed_in_attest(mlflow_server, registry, maya, mlflow_model_name):
    mlflow_server.populate("sklearn", mlflow_model_name)
    sync(registry, maya)

    mlflow_server.populate("unalias", mlflow_model_name, "champion")
    sync(registry, maya)

    model = MlflowModelLink.objects.get(mlflow_name=mlflow_model_name).model
    assert not ModelAlias.objects.filter(model=model, name="champion").exists()


def test_the_approval_and_gate_state_is_written_back_as_mlflow_tags(
    mlflow_server, registry, maya, admin_user, mlflow_model_name
):
    mlflow_server.populate("sklearn", mlflow_model_name)
    sync(registry, maya)
    version = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name).version
    before = mlflow_tags(mlflow_server, mlflow_model_name, 1)

    move_model(admin_user, version.model, "in_development", "in_validation")
    approved_request(version, "production", requester=maya)
    written = writeback.write_back_version(version.pk)
    after = mlflow_tags(mlflow_server, mlflow_model_name, 1)

    assert (before["attest.approval"], before["attest.gate.production"]) == ("none", "closed")
    assert before["attest.version"] == f"{version.model.name}:1"
    assert written == 2
    assert (after["attest.approval"], after["attest.gate.production"]) == ("approved:production", "open")
    # the user's own tags are untouched, and Attest's are not mirrored back as MLflow changes
    assert after["validation_status"] == before["validation_status"] == "pending"
    assert counts(sync(registry, maya)).get("versions_tags_changed") is None


def test_a_version_whose_artifact_is_refused_is_reported_and_the_others_go_on(
    mlflow_server, registry, maya, mlflow_model_name
):
    mlflow_server.populate("sklearn", mlflow_model_name)
    mlflow_server.populate("external-onnx", mlflow_model_name)
    mlflow_server.populate("new-version", mlflow_model_name)

    job = sync(registry, maya)

    assert (counts(job)["versions_imported"], counts(job)["problems"]) == (2, 1), job.result
    (problem,) = job.result["problems"]
    assert problem["where"] == f"{mlflow_model_name} version 2"
    assert "external" in problem["message"]
    assert sorted(MlflowVersionLink.objects.values_list("mlflow_version", flat=True)) == [1, 3]


def test_a_tracking_server_on_a_private_address_is_refused_unless_allow_listed(maya, credit_risk, settings):
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = []
    with pytest.raises(ValidationError) as refused:
        registries.registry_create(
            actor=maya, name="lab", tracking_uri="http://127.0.0.1:5000", team=credit_risk
        )
    assert "tracking_uri" in refused.value.message_dict


def test_an_unreachable_server_fails_the_sync_with_the_reason(maya, credit_risk, allow_local):
    with socket_closed() as port:
        registry = registries.registry_create(
            actor=maya, name="gone", tracking_uri=f"http://127.0.0.1:{port}", team=credit_risk
        )
        job, _ = mlflow_sync.sync_request(actor=maya, registry=registry, queue=False)
        failed = mlflow_sync.sync_run(sync_id=job.pk)

    assert failed.status == "failed"
    assert "could not be reached" in failed.error


def socket_closed():
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def closed():
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield port

    return closed()


def test_the_mlflow_server_itself_serves_what_attest_read(mlflow_server, registry, maya, mlflow_model_name):
    """The artifact Attest stored is byte for byte the file MLflow serves for that version."""
    mlflow_server.populate("onnx", mlflow_model_name)
    sync(registry, maya)
    link = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name)
    uri = httpx.get(
        f"{mlflow_server.url}/api/2.0/mlflow/model-versions/get-download-uri",
        params={"name": mlflow_model_name, "version": 1},
        timeout=30,
    ).json()["artifact_uri"]
    path = uri.removeprefix("mlflow-artifacts:/")
    served = httpx.get(
        f"{mlflow_server.url}/api/2.0/mlflow-artifacts/artifacts/{path}/model.onnx", timeout=30
    )

    import hashlib

    assert hashlib.sha256(served.content).hexdigest() == link.version.artifact_sha256


def test_an_announced_approval_event_writes_the_verdict_back_at_once(
    mlflow_server, registry, maya, admin_user, mlflow_model_name, django_capture_on_commit_callbacks
):
    """Approvals announce their events (webhooks, e-mail); the integrations listen to the same
    announcement and queue a write-back of the version's tags, run here in line."""
    from config.celery_app import app
    from workflow.services import notifications

    mlflow_server.populate("sklearn", mlflow_model_name)
    sync(registry, maya)
    version = MlflowVersionLink.objects.get(mlflow_name=mlflow_model_name).version
    move_model(admin_user, version.model, "in_development", "in_validation")
    approval = approved_request(version, "production", requester=maya)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            notifications.notify(
                "approval.approved", {"approval": approval.pk, "model": version.model.name, "version": 1}
            )
    finally:
        app.conf.task_always_eager = eager

    tags = mlflow_tags(mlflow_server, mlflow_model_name, 1)
    assert (tags["attest.approval"], tags["attest.gate.production"]) == ("approved:production", "open")
