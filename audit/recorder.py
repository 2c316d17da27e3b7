"""``record``: the one way an audit event is written."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, models

from accounts import context
from accounts.roles import ROLE_NAMES
from audit.actions import ACTIONS
from audit.chain import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    canonical_bytes,
    chain_hash,
    clean_ip,
    clean_text,
    event_payload,
    format_time,
    jsonable,
)
from audit.models import AuditEvent

# Arbitrary constant key for pg_advisory_xact_lock; one lock serialises appends to the chain.
AUDIT_CHAIN_LOCK = 0x41_54_54_45_53_54  # "ATTEST"

_HEAD_SQL = f"""
    SELECT clock_timestamp(), last.seq, last.hash
    FROM (SELECT 1) AS one
    LEFT JOIN (SELECT seq, hash FROM {AuditEvent._meta.db_table} ORDER BY seq DESC LIMIT 1) AS last ON true
"""  # noqa: S608 (a fixed table name)


class AuditError(RuntimeError):
    """Raised when an event cannot be recorded as asked (outside a transaction, unknown action)."""


def _actor_snapshot(actor) -> dict[str, Any] | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    roles = sorted(name for name in actor.groups.values_list("name", flat=True) if name in ROLE_NAMES)
    if actor.is_superuser and "admin" not in roles:
        roles.append("admin")
    return {"id": actor.pk, "username": clean_text(actor.get_username()), "roles": sorted(roles)}


def object_type(model: type[models.Model] | models.Model) -> str:
    """The name events give a model's objects: ``app_label.model_name``, or the name the model declares
    in ``AUDIT_OBJECT_TYPE`` (a model that moved app keeps the name its stored, hashed events carry)."""
    return getattr(model, "AUDIT_OBJECT_TYPE", None) or model._meta.label_lower


def _object_reference(obj: models.Model | None) -> dict[str, str] | None:
    if obj is None:
        return None
    return {
        "type": object_type(obj),
        "id": clean_text(str(obj.pk))[:64],
        "repr": clean_text(str(obj))[:200],
    }


def lock_chain() -> None:
    """Serialise with every other writer of the chain until this transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])


def _next_link() -> tuple[int, str, Any]:
    """Take the chain lock for this transaction and return (next seq, previous hash, db time).

    Two statements on purpose: under READ COMMITTED each statement takes a fresh snapshot, so the
    head is read only once the lock is held and the previous holder's commit is visible.
    """
    lock_chain()
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        now, last_seq, last_hash = cursor.fetchone()
    if last_seq is None:
        return 1, GENESIS_HASH, now
    return last_seq + 1, last_hash, now


def record(
    *,
    action: str,
    actor,
    obj: models.Model | None = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    Guarantees: the event commits or rolls back with the caller's change; ``seq`` is the previous
    event's + 1 (an advisory lock held to commit serialises writers, so a rollback leaves no gap);
    ``occurred_at`` is the database clock; who/where come from the bound request or task context.
    Call it late in the transaction: the lock is held until commit, so every other writer waits.
    """
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}: add it to audit.actions")
    if not connection.in_atomic_block:
        raise AuditError("record() must be called inside the transaction of the change it describes")
    ctx = context.current()
    actor_data = _actor_snapshot(actor)
    reference = _object_reference(obj)
    before, after = jsonable(before), jsonable(after)
    reason = clean_text(str(reason))
    client_ip = clean_ip(ctx.client_ip)
    user_agent = clean_text(ctx.user_agent)[:512]
    request_id = clean_text(ctx.request_id)[:128]
    seq, prev_hash, now = _next_link()
    event_id = str(uuid.uuid4())
    canonical = canonical_bytes(
        event_payload(
            seq=seq,
            event_id=event_id,
            occurred_at=format_time(now),
            actor=actor_data,
            auth_method=ctx.auth_method,
            request_id=request_id,
            client_ip=client_ip,
            user_agent=user_agent,
            action=action,
            obj=reference,
            before=before,
            after=after,
            reason=reason,
        )
    )
    return AuditEvent.objects.create(
        seq=seq,
        event_id=event_id,
        occurred_at=now,
        actor_id=actor_data["id"] if actor_data else None,
        actor_pk=actor_data["id"] if actor_data else None,
        actor_username=actor_data["username"] if actor_data else "",
        actor_roles=actor_data["roles"] if actor_data else [],
        auth_method=ctx.auth_method,
        request_id=request_id,
        client_ip=client_ip,
        user_agent=user_agent,
        action=action,
        object_type=reference["type"] if reference else "",
        object_id=reference["id"] if reference else "",
        object_repr=reference["repr"] if reference else "",
        before=before,
        after=after,
        reason=reason,
        schema_version=SCHEMA_VERSION,
        canonical=canonical,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, canonical),
    )
