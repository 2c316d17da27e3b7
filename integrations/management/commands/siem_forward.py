"""``manage.py siem_forward [--once] [--destination NAME]``: forward the audit trail to the SIEM destinations.

The beat task ``integrations.tasks.siem_forward`` does the same every five seconds; this command is for a
dedicated forwarder process or a one-off catch-up. It shares the destinations' row locks with the task, so
both may run at once without sending a batch twice.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from integrations.models import SiemDestination
from integrations.services import siem

IDLE_SECONDS = 1.0


class Command(BaseCommand):
    help = "Forward new audit events to the enabled SIEM destinations."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass until caught up, then exit.")
        parser.add_argument("--destination", metavar="NAME", help="Only this destination.")
        parser.add_argument(
            "--idle",
            type=float,
            default=IDLE_SECONDS,
            metavar="SECONDS",
            help=f"Pause when every destination is caught up (default {IDLE_SECONDS}).",
        )
        parser.add_argument(
            "--retry-now", action="store_true", help="Ignore the backoff after a failure (with --once)."
        )

    def handle(self, *args, once: bool, destination: str | None, idle: float, retry_now: bool, **options):
        if destination and not SiemDestination.objects.filter(name=destination).exists():
            raise CommandError(f"No SIEM destination named {destination!r}.")
        while True:
            outcomes = self._pass(destination, ignore_backoff=retry_now and once)
            for outcome in outcomes:
                if outcome.sent or outcome.status == "failed" or once:
                    error = f": {outcome.error}" if outcome.error else ""
                    self.stdout.write(f"{outcome.destination}: {outcome.sent} sent, {outcome.status}{error}")
            if once:
                if any(outcome.status == "failed" for outcome in outcomes):
                    raise CommandError("A destination did not acknowledge a batch; it is retried later.")
                return
            if not any(outcome.sent for outcome in outcomes):
                time.sleep(idle)

    def _pass(self, name: str | None, *, ignore_backoff: bool) -> list[siem.Outcome]:
        destinations = SiemDestination.objects.filter(enabled=True)
        if name:
            destinations = destinations.filter(name=name)
        pks = destinations.order_by("pk").values_list("pk", flat=True)
        return [siem.forward(pk, max_seconds=60.0, ignore_backoff=ignore_backoff) for pk in pks]
