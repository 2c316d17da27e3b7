"""Worker liveness: heartbeats written by workers, and the judgement /healthz and ``worker_health`` read.

A queue is *consumed* when a worker that listens to it is alive (its main process wrote ``seen_at``
within ``ATTEST_WORKER_STALE_SECONDS``) and either its pool executed something in that window (a task,
or the probe the worker sends itself every ``ATTEST_WORKER_HEARTBEAT_SECONDS``) or every pool slot is
busy with a task still inside the hard time limit. Otherwise the queue is *stuck*: no live worker listens
to it, or the ones that do receive and execute nothing (a hung pool).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from workers.models import WorkerHeartbeat

logger = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=1)
BROKER_TIMEOUT_SECONDS = 2.0


# --- written by workers ----------------------------------------------------------------------------
def worker_seen(
    *,
    hostname: str,
    pid: int,
    queues: list[str],
    concurrency: int,
    active_started: list[datetime],
    started_at: datetime,
) -> None:
    """The main process's heartbeat: alive, which queues, how many of its slots hold a task since when."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={
            "pid": pid,
            "queues": sorted(queues),
            "concurrency": concurrency,
            "active": len(active_started),
            "oldest_active_at": min(active_started, default=None),
            "started_at": started_at,
            "seen_at": now,
        },
    )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def worker_executed(*, hostname: str | None) -> None:
    """The pool's heartbeat: this worker started or finished a task (the probe included)."""
    if hostname:
        WorkerHeartbeat.objects.filter(hostname=hostname).update(executed_at=timezone.now())


def probe_answered(*, hostname: str, since: datetime) -> bool:
    return WorkerHeartbeat.objects.filter(hostname=hostname, executed_at__gte=since).exists()


# --- read by /healthz and manage.py worker_health -------------------------------------------------
def _cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.ATTEST_WORKER_STALE_SECONDS)


def _busy(beat: WorkerHeartbeat, now: datetime) -> bool:
    """Every slot holds a task that is still within the hard time limit (so it is working, not stuck)."""
    if not beat.concurrency or beat.active < beat.concurrency or beat.oldest_active_at is None:
        return False
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + settings.ATTEST_WORKER_STALE_SECONDS)
    return now - beat.oldest_active_at < limit


def worker_state(beat: WorkerHeartbeat, now: datetime) -> str:
    """``ok`` (executing), ``busy`` (all slots working), ``stuck`` (alive, executes nothing) or ``gone``."""
    cutoff = _cutoff(now)
    if beat.seen_at < cutoff:
        return "gone"
    if beat.executed_at is not None and beat.executed_at >= cutoff:
        return "ok"
    if _busy(beat, now):
        return "busy"
    if beat.started_at >= cutoff:
        return "ok"  # just started: its first probe is on its way
    return "stuck"


def queue_health(queues: list[str] | None = None, *, with_depth: bool = True) -> dict[str, dict]:
    """Per queue: ``ok`` and ``status`` (``ok``, ``busy`` or ``stuck``), the live workers listening to it,
    when a worker last executed something from it, messages waiting (when the broker says), and why it is
    stuck."""
    now = timezone.now()
    names = list(queues or settings.ATTEST_WORKER_QUEUES)
    beats = list(WorkerHeartbeat.objects.filter(Q(queues__overlap=names)).order_by("hostname"))
    depths = waiting_messages(names) if with_depth else {}
    return {
        name: _one_queue(name, [b for b in beats if name in b.queues], now, depths.get(name))
        for name in names
    }


def _one_queue(name: str, beats: list[WorkerHeartbeat], now: datetime, waiting: int | None) -> dict:
    states = {beat.hostname: worker_state(beat, now) for beat in beats}
    executed = [beat.executed_at for beat in beats if beat.executed_at is not None]
    last = max(executed, default=None)
    working = [host for host, state in states.items() if state in ("ok", "busy")]
    status = "stuck" if not working else ("ok" if any(states[h] == "ok" for h in working) else "busy")
    result = {
        "ok": status != "stuck",
        "status": status,
        "workers": {host: state for host, state in states.items() if state != "gone"},
        "last_executed_at": last.isoformat() if last else None,
        "waiting": waiting,
    }
    if status == "stuck":
        result["reason"] = _stuck_reason(name, states, last, settings.ATTEST_WORKER_STALE_SECONDS)
    return result


def _stuck_reason(name: str, states: dict[str, str], last: datetime | None, stale: int) -> str:
    since = f"since {last.isoformat()}" if last else "ever"
    alive = sorted(host for host, state in states.items() if state == "stuck")
    if alive:
        return (
            f"Worker {', '.join(alive)} listens to queue {name!r} but has executed nothing {since} "
            f"(no task and no liveness probe in {stale} s): its pool is stuck; restart it."
        )
    last_task = f"the last task from it ran at {last.isoformat()}" if last else "no task from it has ever run"
    return f"No live worker consumes queue {name!r}; {last_task}."


def waiting_messages(queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue, where the broker can count them (Redis, RabbitMQ, filesystem)."""
    from config.celery_app import app

    counts: dict[str, int] = {}
    try:
        with app.connection_for_read(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
            for name in queues:
                counts[name] = _count(conn, name)
    except Exception:  # the broker check reports the broker; depth is a detail
        logger.info("could not count waiting messages", exc_info=True)
    return counts


def _count(conn, name: str) -> int:
    from kombu.exceptions import ChannelError

    channel = conn.channel()
    try:
        return channel.queue_declare(queue=name, passive=True).message_count
    except ChannelError:  # never declared (RabbitMQ) or empty (Redis drops an empty list's key)
        return 0
    finally:
        channel.close()
