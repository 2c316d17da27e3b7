"""``manage.py worker_health``: the liveness probe for systemd and Kubernetes exec probes."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def heartbeat(hostname: str, *, executed_ago: int) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        hostname=hostname,
        pid=1,
        queues=["default", "checks", "reports", "sandbox"],
        started_at=now - timedelta(hours=1),
        seen_at=now,
        executed_at=now - timedelta(seconds=executed_ago),
    )


def test_it_exits_0_for_a_worker_that_executes(capsys):
    heartbeat("celery@a", executed_ago=1)

    call_command("worker_health", "--hostname", "celery@a")

    assert '"state": "ok"' in capsys.readouterr().out


def test_it_exits_1_for_a_stuck_worker_even_when_another_one_consumes():
    heartbeat("celery@a", executed_ago=3600)
    heartbeat("celery@b", executed_ago=1)

    with pytest.raises(CommandError) as stuck:
        call_command("worker_health", "--hostname", "celery@a")
    assert stuck.value.returncode == 1
    call_command("worker_health", "--queue", "checks")  # the queue itself is consumed (by b)


def test_it_exits_1_for_a_worker_it_never_heard_of():
    with pytest.raises(CommandError):
        call_command("worker_health", "--hostname", "celery@nowhere")
