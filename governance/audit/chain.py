"""The hash chain's byte format. Pure functions, no database: the verifier and the golden tests use them.

hash_n = SHA-256( DOMAIN_TAG || bytes(prev_hash_n) || SHA-256(canonical_n) )
where canonical_n is the RFC 8785 serialisation of the event payload and prev_hash_1 is 32 zero bytes.
Changing anything here changes every hash: bump SCHEMA_VERSION and keep the old rule for old rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal
from typing import Any

import rfc8785

SCHEMA_VERSION = 1
DOMAIN_TAG = b"attest.audit.v1\x00"
GENESIS_HASH = "0" * 64


def jsonable(value: Any) -> Any:
    """Normalise a value for hashing and storage: no floats (they are written as their shortest
    round-trip decimal string), decimals and UUIDs as strings, datetimes as ISO 8601 UTC."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot put a {type(value).__name__} into an audit event")


def format_time(value: dt.datetime) -> str:
    """Microsecond ISO 8601 in UTC with a Z, the only time format inside hashed bytes."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of an already-normalised payload."""
    return rfc8785.dumps(payload)


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """The event hash, hex, binding the event to everything before it."""
    digest = hashlib.sha256(DOMAIN_TAG)
    digest.update(bytes.fromhex(prev_hash))
    digest.update(hashlib.sha256(canonical).digest())
    return digest.hexdigest()


def event_payload(
    *,
    seq: int,
    event_id: str,
    occurred_at: str,
    actor: dict[str, Any] | None,
    auth_method: str,
    request_id: str,
    client_ip: str | None,
    user_agent: str,
    action: str,
    obj: dict[str, str] | None,
    before: Any,
    after: Any,
    reason: str,
) -> dict[str, Any]:
    """Everything that is hashed, in one dict: the row's columns plus seq and the schema version."""
    return {
        "schema": SCHEMA_VERSION,
        "seq": seq,
        "event_id": event_id,
        "occurred_at": occurred_at,
        "actor": actor,
        "auth_method": auth_method,
        "request_id": request_id,
        "client_ip": client_ip,
        "user_agent": user_agent,
        "action": action,
        "object": obj,
        "before": before,
        "after": after,
        "reason": reason,
    }
