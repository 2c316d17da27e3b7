"""MLflow's own webhooks, end to end: a real ``mlflow server`` delivers its signed model-registry events to
the live Attest server, a real worker runs the sync each one queues, and a new version and an alias move
made with the MLflow client arrive in Attest (about 40 s: MLflow delivers from its own thread pool)."""

from __future__ import annotations

import time

import pytest

from integrations.models import MlflowDelivery, MlflowSync, MlflowVersionLink
from integrations.services import registries
from registry.models import ModelAlias

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def eventually(check, timeout: float = 90.0, what: str = ""):
    """Poll ``check`` until it returns something true (deliveries and the worker run on their own time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def idle(registry) -> bool:
    return not MlflowSync.objects.filter(registry=registry, status__in=["queued", "running"]).exists()


def test_a_new_version_and_an_alias_move_arrive_through_mlflows_webhook(
    mlflow_server,
    mlflow_model_name,
    api_server,
    worker,
    maya,
    credit_risk,
    settings,
):
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    registry = registries.registry_create(
        actor=maya, name="webhooked", tracking_uri=mlflow_server.url, team=credit_risk, poll_minutes=0
    )
    mlflow_server.populate(
        "webhook", f"{api_server}/api/v1/mlflow/registries/webhooked/webhook/", registry.secret
    )

    mlflow_server.populate("sklearn", mlflow_model_name)  # version 1, alias champion, a tag
    first = eventually(
        lambda: MlflowVersionLink.objects.filter(mlflow_name=mlflow_model_name, mlflow_version=1).first(),
        what="version 1 imported after MLflow's model_version.created delivery",
    )
    eventually(lambda: idle(registry), what="the syncs the deliveries queued finish")
    mlflow_server.populate("new-version", mlflow_model_name)
    mlflow_server.populate("alias", mlflow_model_name, "champion", "2")

    second = eventually(
        lambda: MlflowVersionLink.objects.filter(mlflow_name=mlflow_model_name, mlflow_version=2).first(),
        what="version 2 imported",
    )
    eventually(
        lambda: ModelAlias.objects.filter(
            model=second.version.model, name="champion", version=second.version
        ).exists(),
        what="champion moved to version 2",
    )
    assert first.version.model == second.version.model
    syncs = MlflowSync.objects.filter(registry=registry)
    assert {job.trigger for job in syncs} == {"webhook"}
    assert all(job.requested_by == maya for job in syncs)
    events = set(MlflowDelivery.objects.filter(registry=registry).values_list("event", flat=True))
    assert {"model_version.created", "model_version_alias.created"} <= events
    # Attest's own tags, written back after each sync, came back as deliveries and were ignored
    eventually(lambda: idle(registry), what="the last sync finishes")
    assert all(job.status == "succeeded" for job in syncs.all()), [job.error for job in syncs.all()]
