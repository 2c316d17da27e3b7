"""The MLflow API: connecting a registry, queueing syncs, who may do what, and the webhook receiver's
verification (signature, timestamp, replay) and what a delivery queues."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from integrations.models import MlflowDelivery, MlflowRegistry, MlflowSync
from integrations.services import registries

pytestmark = pytest.mark.django_db
REGISTRIES = reverse("api:mlflow-registry-list")
SYNCS = reverse("api:mlflow-sync-list")


@pytest.fixture
def registry(maya, credit_risk):
    return MlflowRegistry.objects.create(
        name="research",
        tracking_uri="http://127.0.0.1:9",
        team=credit_risk,
        run_as=maya,
        secret="a-shared-secret",
        created_by=maya,
    )


def deliver(api, registry, payload: dict, *, secret=None, delivery_id=None, skew=0, tamper=False):
    """POST ``payload`` as MLflow would, signed (``skew`` seconds away from now, counted at the call)."""
    body = json.dumps(payload)
    delivery_id = delivery_id or str(uuid.uuid4())
    timestamp = str(int(time.time()) + skew)
    signature = registries.signature_of(secret or registry.secret, delivery_id, timestamp, body)
    sent = body.replace("created", "deleted") if tamper else body
    return api.post(
        reverse("api:mlflow-webhook", args=[registry.name]),
        data=sent,
        content_type="application/json",
        HTTP_X_MLFLOW_DELIVERY_ID=delivery_id,
        HTTP_X_MLFLOW_TIMESTAMP=timestamp,
        HTTP_X_MLFLOW_SIGNATURE=signature,
    )


def created(name: str = "pd-retail") -> dict:
    return {
        "entity": "model_version",
        "action": "created",
        "timestamp": "2026-12-05T12:00:00+00:00",
        "data": {"name": name, "version": "2", "source": "models:/m-1", "run_id": None, "tags": {}},
    }


# --- connecting and syncing ------------------------------------------------------------------------------


def test_an_ml_engineer_connects_a_registry_and_sees_the_secret_once(api, maya, credit_risk, settings):
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    body = {"name": "research", "tracking_uri": "http://127.0.0.1:5000/", "team": "credit-risk"}

    answer = api.as_user(maya).post(REGISTRIES, body, format="json")

    assert answer.status_code == 201, answer.json()
    made = answer.json()
    assert made["tracking_uri"] == "http://127.0.0.1:5000"
    assert made["webhook_url"].endswith("/api/v1/mlflow/registries/research/webhook/")
    assert made["secret"] == MlflowRegistry.objects.get(name="research").secret
    assert (
        "secret" not in api.as_user(maya).get(reverse("api:mlflow-registry-detail", args=["research"])).json()
    )
    event = AuditEvent.objects.get(action="mlflow_registry.created")
    assert event.after["team"] == "credit-risk"
    assert "secret" not in json.dumps(event.after)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tracking_uri": "ftp://127.0.0.1/"}, "tracking_uri"),
        ({"tracking_uri": "http://10.1.2.3:5000"}, "tracking_uri"),  # private, not allow-listed
        ({"team": "nobody"}, "team"),
        ({"poll_minutes": 24 * 60 + 1}, "poll_minutes"),
        ({"run_as": "ghost"}, "run_as"),
        ({"name": "not a slug"}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_registry_is_a_400_naming_the_field_and_nothing_is_written(
    api, maya, credit_risk, change, field
):
    body = {
        "name": "research",
        "tracking_uri": "http://mlflow.corp.example:5000",
        "team": "credit-risk",
    } | change

    answer = api.as_user(maya).post(REGISTRIES, body, format="json")

    assert answer.status_code == 400, answer.json()
    assert field in answer.json()["error"]["fields"]
    assert not MlflowRegistry.objects.exists()


def test_syncs_act_as_someone_who_may_change_the_teams_models(api, maya, victor, credit_risk, settings):
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    body = {
        "name": "research",
        "tracking_uri": "http://127.0.0.1:5000",
        "team": "credit-risk",
        "run_as": "victor",
    }

    answer = api.as_user(maya).post(REGISTRIES, body, format="json")

    assert answer.status_code == 400
    assert "run_as" in answer.json()["error"]["fields"]


def test_who_may_connect_sync_and_see_registries(api, registry, maya, victor, rita, olga):
    body = {"name": "other", "tracking_uri": "http://127.0.0.1:5000", "team": "credit-risk"}
    assert api.as_user(victor).post(REGISTRIES, body, format="json").status_code == 403
    # another team's registry does not exist for olga
    assert api.as_user(olga).post(SYNCS, {"registry": "research"}, format="json").status_code == 400
    assert api.as_user(olga).get(reverse("api:mlflow-registry-detail", args=["research"])).status_code == 404
    # a risk officer reads every registry, an ML engineer their team's
    assert [item["name"] for item in api.as_user(rita).get(REGISTRIES).json()["results"]] == ["research"]
    assert [item["name"] for item in api.as_user(maya).get(REGISTRIES).json()["results"]] == ["research"]
    assert api.as_user(victor).post(SYNCS, {"registry": "research"}, format="json").status_code == 403


def test_a_sync_is_queued_once_while_it_waits(api, registry, maya):
    first = api.as_user(maya).post(SYNCS, {"registry": "research"}, format="json")
    again = api.as_user(maya).post(SYNCS, {"registry": "research", "model": "pd-retail"}, format="json")

    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first["Location"].endswith(f"/api/v1/mlflow/syncs/{first.json()['id']}/")
    job = api.as_user(maya).get(first["Location"]).json()
    assert (job["status"], job["trigger"], job["progress"]["percent"]) == ("queued", "import", 0.0)
    assert AuditEvent.objects.filter(action="mlflow_sync.requested").count() == 1


def test_syncs_filter_by_registry_and_status_and_refuse_unknown_parameters(api, registry, maya):
    api.as_user(maya).post(SYNCS, {"registry": "research"}, format="json")

    assert api.as_user(maya).get(SYNCS, {"registry": "research", "status": "queued"}).json()["count"] == 1
    assert api.as_user(maya).get(SYNCS, {"registry": "elsewhere"}).json()["count"] == 0
    assert api.as_user(maya).get(SYNCS, {"model__name": "x"}).status_code == 400


# --- the webhook receiver ----------------------------------------------------------------------------------


def test_a_signed_delivery_queues_a_sync_of_its_model_as_the_registry_user(api, registry, maya):
    answer = deliver(api, registry, created())

    assert answer.status_code == 202, answer.json()
    job = MlflowSync.objects.get(pk=answer.json()["sync"])
    assert (job.model_name, job.trigger, job.requested_by) == ("pd-retail", "webhook", maya)
    assert MlflowDelivery.objects.get().event == "model_version.created"


def test_a_replayed_delivery_is_acknowledged_and_ignored(api, registry):
    delivery_id = str(uuid.uuid4())
    deliver(api, registry, created(), delivery_id=delivery_id)
    MlflowSync.objects.update(status="succeeded")  # done, so a new delivery would queue another

    again = deliver(api, registry, created(), delivery_id=delivery_id)

    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert MlflowSync.objects.count() == 1


def test_deliveries_while_a_sync_waits_make_one_sync(api, registry):
    first = deliver(api, registry, created())
    second = deliver(api, registry, {**created(), "entity": "model_version_alias", "action": "created"})

    assert second.json() == {"status": "coalesced", "sync": first.json()["sync"]}
    assert MlflowSync.objects.count() == 1


@pytest.mark.parametrize(
    "how",
    [
        {"secret": "someone-elses-secret"},
        {"tamper": True},
        {"skew": -registries.TOLERANCE_SECONDS - 60},
        {"skew": registries.TOLERANCE_SECONDS + 60},
    ],
    ids=["wrong-secret", "body-changed", "stale", "from-the-future"],
)
def test_a_delivery_that_does_not_verify_is_refused_and_queues_nothing(api, registry, how):
    answer = deliver(api, registry, created(), **how)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
    assert not MlflowSync.objects.exists()
    assert not MlflowDelivery.objects.exists()


def test_an_unsigned_delivery_or_an_unknown_registry_gets_the_same_401(api, registry):
    unsigned = api.post(
        reverse("api:mlflow-webhook", args=[registry.name]),
        data=json.dumps(created()),
        content_type="application/json",
    )
    unknown = api.post(
        reverse("api:mlflow-webhook", args=["nowhere"]),
        data=json.dumps(created()),
        content_type="application/json",
    )

    assert unsigned.status_code == unknown.status_code == 401
    assert unsigned.json() == unknown.json()


def test_attests_own_tags_and_other_models_are_ignored(api, registry):
    registry.model_names = ["pd-retail"]
    registry.save()
    own_tag = {
        "entity": "model_version_tag",
        "action": "set",
        "data": {"name": "pd-retail", "version": "1", "key": "attest.gate.production", "value": "open"},
    }

    echoed = deliver(api, registry, own_tag)
    other = deliver(api, registry, created("fraud-model"))
    prompt = deliver(api, registry, {"entity": "prompt", "action": "created", "data": {"name": "pd-retail"}})

    assert [a.json()["status"] for a in (echoed, other, prompt)] == ["ignored"] * 3
    assert not MlflowSync.objects.exists()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("HTTPS://MLflow.Example.com:443/", "https://mlflow.example.com"),
        ("http://127.0.0.1:80/mlflow/", "http://127.0.0.1/mlflow"),
        ("http://[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_a_tracking_uri_has_one_spelling(typed, stored):
    assert registries.normalised_uri(typed) == stored


def test_a_sync_of_a_model_the_registry_does_not_import_is_refused(api, registry, maya):
    registry.model_names = ["pd-retail"]
    registry.save()

    answer = api.as_user(maya).post(SYNCS, {"registry": "research", "model": "fraud-model"}, format="json")

    assert answer.status_code == 400
    assert "model" in answer.json()["error"]["fields"]
    assert not MlflowSync.objects.exists()
