"""Background work runs on a real Celery worker, on the configured broker, with the request's id."""

import pytest

from accounts import context
from accounts.tasks import worker_ping
from audit.models import AuditEvent
from tests.conftest import wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_task_on_a_real_worker_carrying_the_request_id(celery_worker):
    with context.bound(context.RequestContext(request_id="req-ci-42", auth_method="session")):
        worker_ping.delay("hello from the test")

    event = wait_for(
        lambda: AuditEvent.objects.filter(action="system.worker_ping").first(), message="the ping"
    )

    assert event.request_id == "req-ci-42"
    assert event.auth_method == "task"
    assert event.after == {"note": "hello from the test"}
