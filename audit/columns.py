"""Do a row's columns still say what its hashed bytes say?

The fast check runs in PostgreSQL: it rebuilds the RFC 8785 text of the event from the columns, by
concatenation only (no JSON parsing), and compares it byte for byte with ``canonical``. That works
because the JSON columns hold their canonical text verbatim (``CanonicalJSONField``), keys sit in the
fixed order RFC 8785 sorts them into, and PostgreSQL escapes strings exactly as RFC 8785 does
(``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other controls as lowercase ``\\u00xx``, the rest verbatim).
Columns whose values never need escaping in practice (catalogue action names, the auth method,
``app.model`` labels, usernames, request ids, object ids) are spliced in unescaped, which saves a third
of the work; free text (reason, user agent, object repr) goes through ``to_json``. That stays sound —
equal bytes still imply equal values — because a row only passes when those spliced values hold no
``"`` and no ``\\`` (so no value can end early or swallow its neighbour) and because canonical bytes never
contain a raw control character. Any other row, including a legitimate value that needed escaping, is
explained by the slow path, which compares parsed values field by field.
"""

from __future__ import annotations

import json
from typing import Any

from audit.chain import clean_ip, event_payload, format_time

# Keys in RFC 8785 order (UTF-16 code units; all ASCII here): action, actor, after, auth_method, before,
# client_ip, event_id, object, occurred_at, reason, request_id, schema, seq, user_agent.
_REBUILT_TEXT = """
    '{"action":"' || e.action || '"'
    || ',"actor":' || CASE
        WHEN e.actor_pk IS NULL AND e.actor_username = '' AND e.actor_roles::text = '[]' THEN 'null'
        ELSE '{"id":' || coalesce(e.actor_pk::text, 'null') || ',"roles":' || e.actor_roles::text
             || ',"username":"' || e.actor_username || '"}'
       END
    || ',"after":' || coalesce(e.after::text, 'null')
    || ',"auth_method":"' || e.auth_method || '"'
    || ',"before":' || coalesce(e.before::text, 'null')
    || ',"client_ip":' || coalesce('"' || host(e.client_ip) || '"', 'null')
    || ',"event_id":"' || e.event_id::text || '"'
    || ',"object":' || CASE
        WHEN e.object_type = '' AND e.object_id = '' AND e.object_repr = '' THEN 'null'
        ELSE '{"id":"' || e.object_id || '","repr":' || to_json(e.object_repr)::text
             || ',"type":"' || e.object_type || '"}'
       END
    || ',"occurred_at":"' || to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'
    || ',"reason":' || to_json(e.reason)::text
    || ',"request_id":"' || e.request_id || '"'
    || ',"schema":' || e.schema_version::text
    || ',"seq":' || e.seq::text
    || ',"user_agent":' || to_json(e.user_agent)::text
    || '}'
"""

# One row per event from seq %s on: the rebuilt text when it equals the stored bytes (and the actor
# link agrees with the snapshot), else the raw bytes. OFFSET 0 stops PostgreSQL from inlining the
# subqueries, which would build the text once per reference to it. The innermost ORDER BY fixes the
# order (an outer one would make PostgreSQL sort the whole result before the first row); were rows
# ever to arrive out of order, the walk would report gaps and broken links, never a false pass.
AGREEMENT_SQL = f"""
    SELECT seq, schema_version, prev_hash, hash, ok, CASE WHEN ok THEN doc END,
           CASE WHEN ok THEN NULL ELSE canonical END
    FROM (
        SELECT r.*, coalesce(convert_to(r.doc, 'UTF8') = r.canonical
                             AND strpos(r.spliced, '"') = 0 AND strpos(r.spliced, '\\') = 0
                             AND (r.actor_id IS NULL OR r.actor_id = r.actor_pk), false) AS ok
        FROM (
            SELECT e.seq, e.schema_version, e.prev_hash, e.hash, e.canonical, e.actor_id, e.actor_pk,
                   {_REBUILT_TEXT} AS doc,
                   e.action || e.auth_method || e.object_type || e.actor_username || e.request_id
                   || e.object_id AS spliced
            FROM governance_auditevent e
            WHERE e.seq >= %s
            ORDER BY e.seq
            OFFSET 0
        ) AS r
        OFFSET 0
    ) AS v
"""  # noqa: S608 (no user input: the only parameter is bound)

_ROW_SQL = """
    SELECT seq, schema_version, event_id, occurred_at, actor_id, actor_pk, actor_username, actor_roles,
           auth_method, request_id, host(client_ip), user_agent, action, object_type, object_id,
           object_repr, before, after, reason, canonical
    FROM governance_auditevent WHERE seq = %s
"""


def disagreeing_columns(connection, seq: int) -> list[str]:
    """The columns of event ``seq`` whose values differ from its hashed bytes (empty when none do)."""
    with connection.cursor() as cursor:
        cursor.execute(_ROW_SQL, [seq])
        row = cursor.fetchone()
    if row is None:
        return []
    columns = _columns(row)
    try:
        payload = json.loads(bytes(row[-1]))
    except ValueError:
        return ["canonical (not valid UTF-8 JSON)"]
    if not isinstance(payload, dict):
        return ["canonical (not a JSON object)"]
    differing = [name for name, value in columns.items() if not _same(name, value, payload)]
    actor_id, actor_pk = row[4], row[5]
    if actor_id is not None and actor_id != actor_pk:
        differing.append("actor_id")
    return differing


def _columns(row: tuple) -> dict[str, Any]:
    (
        seq,
        schema,
        event_id,
        occurred_at,
        _actor_id,
        actor_pk,
        username,
        roles,
        auth_method,
        request_id,
        client_ip,
        user_agent,
        action,
        object_type,
        object_id,
        object_repr,
        before,
        after,
        reason,
        _raw,
    ) = row
    actor = None
    if actor_pk is not None or username or roles != []:
        actor = {"id": actor_pk, "username": username, "roles": roles}
    obj = None
    if object_type or object_id or object_repr:
        obj = {"type": object_type, "id": object_id, "repr": object_repr}
    return event_payload(
        seq=seq,
        event_id=str(event_id),
        occurred_at=format_time(occurred_at),
        actor=actor,
        auth_method=auth_method,
        request_id=request_id,
        client_ip=client_ip,
        user_agent=user_agent,
        action=action,
        obj=obj,
        before=before,
        after=after,
        reason=reason,
        schema=schema,
    )


def _same(name: str, value: Any, payload: dict[str, Any]) -> bool:
    if name not in payload:
        return False
    hashed = payload[name]
    if name == "client_ip" and value and isinstance(hashed, str):
        return clean_ip(value) == clean_ip(hashed)  # the same address, whatever its spelling
    # Compared as JSON text so that 1 and true, or 1 and 1.0, never pass for each other.
    return json.dumps(value, sort_keys=True) == json.dumps(hashed, sort_keys=True)
