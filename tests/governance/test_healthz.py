"""/healthz reports the database, the broker and storage; 503 when one is down."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_it_is_healthy_when_everything_answers(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage"}


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_BROKER_TRANSPORT_OPTIONS={})
def test_it_answers_503_naming_an_unreachable_broker(client):
    response = client.get("/healthz")  # port 1 is closed
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
