"""The operational gauges of ``/metrics``, computed from the database (and the broker) at each scrape.

Nothing here is counted in process memory: jobs, queues, worker heartbeats and the audit chain all live in
PostgreSQL, so every web process answers the same numbers and a restart loses nothing. Each query is an
aggregate over an indexed column or a one-row lookup; ``attest_metrics_collect_seconds`` reports what a
scrape cost. ``config.metrics`` serves these (it names this collector in ``ATTEST_METRICS_COLLECTORS``).
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.apps import apps
from django.db.models import Case, Count, DateTimeField, F, Min, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobs import kinds
from workers import liveness
from workers.models import WorkerHeartbeat

logger = logging.getLogger(__name__)
NEVER = math.inf  # an age with nothing to measure from: "> N" alerts fire, as they should


def _age(now: datetime, then: datetime | None) -> float:
    return NEVER if then is None else max((now - then).total_seconds(), 0.0)


def _timestamp(then: datetime | None) -> float:
    return 0.0 if then is None else then.timestamp()


# --- jobs ------------------------------------------------------------------------------------------
def queue_of(kind: kinds.JobKind) -> str:
    """The Celery queue a kind's task is routed to (CELERY_TASK_ROUTES), as the broker sees it."""
    from config.celery_app import app

    route = app.amqp.router.route({}, kind.task)
    queue = route.get("queue")
    return getattr(queue, "name", None) or str(queue or app.conf.task_default_queue)


def job_rows(kind: kinds.JobKind, now: datetime) -> tuple[dict[str, int], int, datetime | None]:
    """Rows of one kind per common state (queued, running, retrying, succeeded, failed), how many wait for a
    worker now, and since when the oldest of those waits: one GROUP BY, so one pass over the table.

    Waiting for a worker now: queued, or a retry whose backoff ended (not one whose backoff runs). A
    never-claimed job waits since it was created (its ``next_attempt_at`` is only when its task was last
    sent, which a resend moves); a job claimed before (retried, or requeued by the reaper) since it became
    due again.
    """
    model = kind.model
    has_created = any(f.name == "created_at" for f in model._meta.concrete_fields)
    since_due = Coalesce(F("next_attempt_at"), F("created_at")) if has_created else F("next_attempt_at")
    waiting_since = (
        Case(When(attempts=0, then=F("created_at")), default=since_due, output_field=DateTimeField())
        if has_created
        else since_due
    )
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    rows = (
        model.objects.order_by()
        .values(kind.status_field)
        .annotate(n=Count("pk"), due=Count("pk", filter=due), oldest=Min(waiting_since, filter=due))
    )
    common = {kind.value(state): state for state in reversed(kinds.STATES)}  # retrying may alias queued
    waiting_values = set(kind.waiting_values())
    counts = dict.fromkeys(kinds.STATES, 0)
    waiting, oldest = 0, None
    for row in rows:
        status = row[kind.status_field]
        if status in common:
            counts[common[status]] += row["n"]
        if status in waiting_values and row["due"]:
            waiting += row["due"]
            oldest = row["oldest"] if oldest is None else min(oldest, row["oldest"])
    return counts, waiting, oldest


# --- the broker ------------------------------------------------------------------------------------
def broker_depths(queues: list[str]) -> dict[str, int]:
    """Messages waiting per queue, through one pooled broker connection and one channel (a new connection
    per scrape cost more than all the queries); nothing when the broker does not answer in time."""
    from kombu.exceptions import ChannelError

    from config.celery_app import app

    counts: dict[str, int] = {}
    try:
        with app.pool.acquire(block=True, timeout=liveness.BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=liveness.BROKER_TIMEOUT_SECONDS
            )
            channel = conn.default_channel
            for name in queues:
                try:
                    counts[name] = channel.queue_declare(queue=name, passive=True).message_count
                except ChannelError:  # never declared (RabbitMQ) or empty (Redis drops an empty list)
                    counts[name] = 0
    except Exception as exc:  # the gauge is left out; /healthz reports the broker itself
        logger.info("metrics: could not count the broker's queues: %s: %s", type(exc).__name__, exc)
        return {}
    return counts


# --- the collector ---------------------------------------------------------------------------------
class OperationsCollector(Collector):
    """Jobs, queues, workers and the audit chain, read fresh at every scrape (a custom Collector)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.perf_counter()
        now = timezone.now()
        for part in (self._jobs, self._workers, self._audit):
            try:
                yield from part(now)
            except Exception:  # one unreadable part leaves the others (and the HTTP metrics) scrapeable
                logger.warning("metrics: could not collect %s", part.__name__, exc_info=True)
        took = GaugeMetricFamily("attest_metrics_collect_seconds", "Time this scrape spent on these gauges.")
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _jobs(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "attest_jobs",
            "Durable jobs by kind, queue and state (rows now).",
            labels=["kind", "queue", "state"],
        )
        waiting = GaugeMetricFamily(
            "attest_jobs_waiting",
            "Jobs waiting for a worker now (queued, or a retry whose backoff ended).",
            labels=["kind", "queue"],
        )
        oldest = GaugeMetricFamily(
            "attest_jobs_oldest_waiting_seconds",
            "Seconds the oldest job waiting for a worker has waited (0 when none waits).",
            labels=["kind", "queue"],
        )
        per_queue: dict[str, int] = defaultdict(int)
        for name in sorted(kinds.KINDS):
            kind = kinds.KINDS[name]
            queue = queue_of(kind)
            states, count, since = job_rows(kind, now)
            for state, rows in states.items():
                jobs.add_metric([name, queue, state], rows)
            waiting.add_metric([name, queue], count)
            oldest.add_metric([name, queue], 0.0 if since is None else _age(now, since))
            per_queue[queue] += count
        by_queue = GaugeMetricFamily(
            "attest_queue_waiting_jobs",
            "Durable jobs waiting for a worker, per Celery queue (from the job rows).",
            labels=["queue"],
        )
        for queue in _queues(per_queue):
            by_queue.add_metric([queue], per_queue.get(queue, 0))
        yield from (jobs, waiting, oldest, by_queue)

    def _workers(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        queues = _queues({})
        health = liveness.queue_health(queues, with_depth=False)
        depths = broker_depths(queues)
        beats = list(WorkerHeartbeat.objects.filter(queues__overlap=queues))
        consumed = GaugeMetricFamily(
            "attest_queue_consumed",
            "1 while a live worker executes from the queue (or is busy), 0 when it is stuck (as /healthz).",
            labels=["queue"],
        )
        workers = GaugeMetricFamily(
            "attest_queue_workers", "Workers listening to the queue that are alive.", labels=["queue"]
        )
        executed = GaugeMetricFamily(
            "attest_queue_last_executed_age_seconds",
            "Seconds since a worker listening to the queue last executed a task or its liveness ping "
            "(+Inf: never).",
            labels=["queue"],
        )
        seen = GaugeMetricFamily(
            "attest_queue_last_heartbeat_age_seconds",
            "Seconds since the freshest heartbeat of a worker listening to the queue (+Inf: none).",
            labels=["queue"],
        )
        messages = GaugeMetricFamily(
            "attest_queue_messages",
            "Messages waiting in the broker's queue (absent when the broker cannot be counted).",
            labels=["queue"],
        )
        for queue in queues:
            state = health[queue]
            mine = [beat for beat in beats if queue in beat.queues]
            consumed.add_metric([queue], 1.0 if state["ok"] else 0.0)
            workers.add_metric([queue], len(state["workers"]))
            executed.add_metric([queue], _age(now, _latest(beat.executed_at for beat in mine)))
            seen.add_metric([queue], _age(now, _latest(beat.seen_at for beat in mine)))
            if queue in depths:
                messages.add_metric([queue], depths[queue])
        yield from (consumed, workers, executed, seen, messages)

    def _audit(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        event_model = apps.get_model("audit", "AuditEvent")
        checkpoint_model = apps.get_model("audit", "AuditCheckpoint")
        verification_model = apps.get_model("audit", "AuditVerification")
        head = event_model.objects.order_by("-seq").values("seq", "occurred_at").first()
        checkpoint = checkpoint_model.objects.order_by("-number").values("created_at", "last_seq").first()
        verified = (
            verification_model.objects.filter(status="succeeded", intact__isnull=False)
            .order_by("-finished_at", "-id")
            .values("intact", "finished_at")
            .first()
        )
        yield _gauge("attest_audit_head_seq", "Seq of the last audit event (0: none).", head and head["seq"])
        yield _gauge(
            "attest_audit_head_timestamp_seconds",
            "When the last audit event was written (Unix time; 0: none).",
            _timestamp(head and head["occurred_at"]),
        )
        yield _gauge(
            "attest_audit_checkpoint_age_seconds",
            "Seconds since the last signed checkpoint (+Inf: none yet).",
            _age(now, checkpoint and checkpoint["created_at"]),
        )
        yield _gauge(
            "attest_audit_checkpoint_seq",
            "Seq the last signed checkpoint covers (0: none); head minus this is unsigned.",
            checkpoint and checkpoint["last_seq"],
        )
        if verified is not None:  # absent until a verification finished: no verdict is not a failure
            yield _gauge(
                "attest_audit_verification_intact",
                "1 when the last finished chain verification found the chain intact, 0 when it did not.",
                1.0 if verified["intact"] else 0.0,
            )
            yield _gauge(
                "attest_audit_verification_timestamp_seconds",
                "When the last chain verification finished (Unix time).",
                _timestamp(verified["finished_at"]),
            )


def _gauge(name: str, documentation: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value or 0))


def _latest(values) -> datetime | None:
    return max((value for value in values if value is not None), default=None)


def _queues(extra) -> list[str]:
    from django.conf import settings

    return sorted(set(settings.ATTEST_WORKER_QUEUES) | set(extra))
