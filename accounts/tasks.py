"""The hooks that carry the request context into every task, and the accounts' own background jobs.

At publish time the request id and acting user go into the message headers; when a worker runs the
task it binds a ``task`` context from them, so audit events and log lines written by the task can be
traced back to the request that caused them. Registered names keep the ``governance.tasks.`` prefix
(beat schedules stored in the database and queued messages name them).
"""

from __future__ import annotations

from celery import shared_task
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.db import transaction

from accounts import context
from accounts.services import lockout
from audit import record

HEADER_REQUEST_ID = "attest_request_id"
HEADER_ACTOR_ID = "attest_actor_id"
_task_tokens: dict[str, object] = {}


@before_task_publish.connect
def _add_context_headers(sender=None, headers=None, **kwargs):
    if headers is None:
        return
    ctx = context.current()
    headers.setdefault(HEADER_REQUEST_ID, ctx.request_id or context.new_request_id())
    headers.setdefault(HEADER_ACTOR_ID, ctx.actor_id)


@task_prerun.connect
def _bind_task_context(task_id=None, task=None, **kwargs):
    request = task.request
    ctx = context.RequestContext(
        request_id=getattr(request, HEADER_REQUEST_ID, None) or task_id or "",
        auth_method="task",
        actor_id=getattr(request, HEADER_ACTOR_ID, None),
    )
    _task_tokens[task_id] = context.push(ctx)


@task_postrun.connect
def _unbind_task_context(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        context.pop(token)


@shared_task(name="governance.tasks.worker_ping")
def worker_ping(note: str = "") -> str:
    """Record that a worker ran, with the request id it inherited; used by health checks and tests."""
    with transaction.atomic():
        event = record(action="system.worker_ping", actor=None, after={"note": note[:200]})
    return event.request_id


@shared_task(name="governance.tasks.purge_sign_in_counts")
def purge_sign_in_counts() -> int:
    """Forget wrong-password counts a day old with no lock in force (accounts.services.lockout)."""
    return lockout.stale_purge()
