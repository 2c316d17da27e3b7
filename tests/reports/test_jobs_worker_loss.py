"""Durable jobs on real workers: a report and a bundle whose worker was killed are reaped and finished
once; a webhook message the broker never delivered is sent again by the reaper, once.

Leases are made to expire by moving the stored ``lease_expires_at`` (time travel), never by sleeping.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

from datetime import timedelta

import psutil
import pytest
from django.utils import timezone

from audit.models import AuditEvent
from jobs import reaper
from reports.models import EvidenceBundle, Report
from reports.services import bundles
from reports.services import reports as report_services
from tests.conftest import WorkerProcess, wait_for
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    approve,
    quick_ready_version,
    quick_version,
    tier1_model,
)
from tests.workflow.test_webhooks import Receiver
from workflow.models import WebhookDelivery, WebhookEndpoint
from workflow.services import notifications

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def kill_tree(worker: WorkerProcess) -> None:
    """kill -9 the worker's main process and its pool children, as a crashed machine would."""
    parent = psutil.Process(worker.process.pid)
    for process in [*parent.children(recursive=True), parent]:
        process.kill()
    worker.process.wait(timeout=20)


def expire_lease(model, pk: int) -> None:
    model.objects.filter(pk=pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def events(action: str, pk: int) -> int:
    return AuditEvent.objects.filter(action=action, object_id=str(pk)).count()


def kill_mid_job(worker_env, model, pk: int) -> None:
    """Start a slow worker, wait until it holds the job, kill it, and let the job's lease run out."""
    slow = WorkerProcess({**worker_env, "ATTEST_TEST_JOB_DELAY": "120"}, queues="reports").start()
    try:
        wait_for(
            lambda: model.objects.filter(pk=pk, status="running").exclude(claim_token="").exists(),
            timeout=120,
            message="the claim",
        )
        kill_tree(slow)
    finally:
        slow.stop(kill=True)
    expire_lease(model, pk)


@pytest.mark.parametrize("kind", ["report", "bundle"])
def test_a_job_whose_worker_died_is_reaped_and_finished_once(
    worker_env, maya, aaron, victor, quick_ready_version, kind
):
    """GIVEN a report (or a bundle) whose worker is killed with kill -9 while it holds the job
    WHEN its lease has run out and the reaper runs, and a healthy worker is started
    THEN the job is queued again (audited) and finished by the new worker: succeeded on its second
    attempt, with one success event; the reaper then finds nothing more to do."""
    approve(quick_ready_version, maya, [(victor, "review")])
    if kind == "report":
        job = report_services.report_request(actor=maya, kind="validation", version=quick_ready_version)
        model, done = Report, "report.generated"
    else:
        job = bundles.bundle_request(actor=aaron, version=quick_ready_version)
        model, done = EvidenceBundle, "bundle.generated"

    kill_mid_job(worker_env, model, job.pk)
    assert model.objects.get(pk=job.pk).status == "running"
    assert reaper.reap()[kind] == {"requeued": 1, "failed": 0, "resent": 0}

    healthy = WorkerProcess(worker_env, queues="reports").start()
    try:
        finished = wait_for(
            lambda: model.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
            timeout=240,
            message=f"the {kind} to finish",
        )
    finally:
        healthy.stop()
    assert (finished.status, finished.attempts, finished.claim_token) == ("succeeded", 2, ""), finished.error
    assert events(f"{kind}.requeued", job.pk) == 1
    assert events(done, job.pk) == 1
    assert reaper.reap()[kind] == {"requeued": 0, "failed": 0, "resent": 0}


def test_a_webhook_message_lost_by_the_broker_is_sent_again_once(worker_env, admin_user):
    """GIVEN a webhook delivery whose message never reached the broker (the row exists, no task sent)
    WHEN the reaper runs after the resend delay, a worker is started, and the reaper runs again
    THEN the message is delivered exactly once: one request at the receiver, one delivered event."""
    with Receiver([200, 200, 200]) as receiver:
        endpoint = WebhookEndpoint.objects.create(
            url=receiver.url(), events=[], secret=notifications.new_secret(), created_by=admin_user
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, message_id="msg_lost", event_type="finding.raised", payload={"type": "x"}
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(hours=1))
        assert reaper.reap()["webhook_delivery"]["resent"] == 1
        # the receiver listens on 127.0.0.1: allow it, should outbound targets be checked
        worker = WorkerProcess({**worker_env, "ATTEST_OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}, queues="default")
        worker.start()
        try:
            wait_for(
                lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="delivered").exists(),
                timeout=120,
                message="the delivery",
            )
            assert reaper.reap()["webhook_delivery"] == {"requeued": 0, "failed": 0, "resent": 0}
        finally:
            worker.stop()
    assert len(receiver.received) == 1
    assert receiver.received[0]["headers"]["webhook-id"] == "msg_lost"
    assert events("webhook.delivered", delivery.pk) == 1
