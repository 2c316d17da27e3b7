"""Liveness probe for a worker host or container: exit 0 while the worker consumes, 1 when it is stuck or gone.

python manage.py worker_health --hostname celery@$(hostname)   # this worker (systemd, Kubernetes exec)
python manage.py worker_health --queue checks                  # any worker on these queues
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workers import liveness
from workers.models import WorkerHeartbeat


class Command(BaseCommand):
    help = "Exit 0 while the worker (or every named queue) is consuming; 1 while it is stuck or gone."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hostname", help="the worker's node name, e.g. celery@host (default: queues)")
        parser.add_argument("--queue", action="append", help="a queue to judge (repeatable; default: all)")

    def handle(self, *args, hostname: str | None = None, queue: list[str] | None = None, **options) -> None:
        if hostname:
            healthy, report = self._worker(hostname)
        else:
            queues = liveness.queue_health(queue, with_depth=False)
            healthy, report = all(q["ok"] for q in queues.values()), {"queues": queues}
        self.stdout.write(json.dumps(report, default=str))
        if not healthy:
            raise CommandError("stuck", returncode=1)

    def _worker(self, hostname: str) -> tuple[bool, dict]:
        beat = WorkerHeartbeat.objects.filter(hostname=hostname).first()
        if beat is None:
            return False, {"hostname": hostname, "state": "unknown"}
        state = liveness.worker_state(beat, timezone.now())
        report = {
            "hostname": hostname,
            "state": state,
            "seen_at": beat.seen_at,
            "executed_at": beat.executed_at,
        }
        return state in ("ok", "busy"), report
