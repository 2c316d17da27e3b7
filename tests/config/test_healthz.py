"""/healthz reports the database, the broker and storage (503 when one is down) and, per queue, whether a
worker consumes it (``degraded`` when one is stuck); /healthz/workers is the workers' liveness probe (503)."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db
QUEUES = ["default", "checks", "reports", "sandbox"]


def heartbeat(hostname="celery@a", *, queues=QUEUES, seen=0, executed=0, started=600, active=0, oldest=None):
    """A worker's heartbeat row, with its times given as seconds ago."""
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        hostname=hostname,
        pid=1,
        queues=queues,
        concurrency=2,
        active=active,
        oldest_active_at=None if oldest is None else now - timedelta(seconds=oldest),
        started_at=now - timedelta(seconds=started),
        seen_at=now - timedelta(seconds=seen),
        executed_at=None if executed is None else now - timedelta(seconds=executed),
    )


def test_it_is_healthy_when_everything_answers(client):
    heartbeat()

    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert {name: queue["status"] for name, queue in body["queues"].items()} == dict.fromkeys(QUEUES, "ok")
    assert body["queues"]["checks"]["workers"] == {"celery@a": "ok"}


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_BROKER_TRANSPORT_OPTIONS={})
def test_it_answers_503_naming_an_unreachable_broker(client):
    response = client.get("/healthz")  # port 1 is closed
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_it_names_the_queue_whose_worker_executes_nothing(client):
    # celery@a takes everything but checks and its pool ran nothing for 10 minutes; celery@b is fine
    heartbeat("celery@a", queues=["checks"], executed=600)
    heartbeat("celery@b", queues=["default", "reports", "sandbox"])

    response = client.get("/healthz")
    body = response.json()

    assert response.status_code == 200, body  # the web keeps serving while workers are restarted
    assert body["status"] == "degraded"
    checks = body["queues"]["checks"]
    assert checks["ok"] is False
    assert checks["status"] == "stuck"
    assert checks["workers"] == {"celery@a": "stuck"}
    assert "celery@a" in checks["reason"]
    assert "executed nothing" in checks["reason"]
    assert [name for name, queue in body["queues"].items() if not queue["ok"]] == ["checks"]


def test_the_workers_probe_answers_503_naming_a_queue_nobody_consumes(client):
    heartbeat("celery@a", queues=["default", "checks", "reports"])
    heartbeat("celery@gone", queues=["sandbox"], seen=600, executed=600)

    response = client.get("/healthz/workers")
    body = response.json()

    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["queues"]["sandbox"]["status"] == "stuck"
    assert body["queues"]["sandbox"]["workers"] == {}
    assert "No live worker consumes queue 'sandbox'" in body["queues"]["sandbox"]["reason"]
    assert client.get("/healthz/workers", {"queue": ["default", "checks"]}).status_code == 200


def test_a_worker_whose_every_slot_holds_a_task_is_busy_not_stuck(client):
    heartbeat("celery@a", executed=600, active=2, oldest=300)

    body = client.get("/healthz/workers").json()

    assert body["status"] == "ok"
    assert body["queues"]["checks"]["status"] == "busy"


@override_settings(CELERY_TASK_TIME_LIMIT=60)
def test_a_task_past_the_hard_time_limit_does_not_count_as_busy(client):
    heartbeat("celery@a", executed=600, active=2, oldest=600)

    assert client.get("/healthz/workers").json()["queues"]["checks"]["status"] == "stuck"


def test_a_worker_that_just_started_is_given_time_for_its_first_probe(client):
    heartbeat("celery@a", executed=None, started=1)

    assert client.get("/healthz/workers").status_code == 200


@override_settings(ATTEST_WORKER_QUEUES=["healthz-waiting"])
def test_it_counts_the_messages_waiting_in_each_queue(client):
    from config.celery_app import app

    heartbeat(queues=["healthz-waiting"])
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("healthz-waiting")
    try:
        for _ in range(2):
            app.send_task("workers.tests.nothing", queue="healthz-waiting")

        body = client.get("/healthz").json()
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("healthz-waiting")
    assert body["queues"]["healthz-waiting"]["waiting"] == 2
