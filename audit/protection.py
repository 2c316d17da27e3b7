"""Names of the database triggers that make the audit tables append-only, and how to inspect them.

The triggers themselves are created by governance migration 0004 (its SQL is frozen there, as migrations must
be). They are plain SQL rather than django-pgtrigger triggers on purpose: pgtrigger's functions skip
themselves when a session sets ``pgtrigger.ignore``, a setting any database role may change, which
would hand the application role a way around the protection.
"""

from __future__ import annotations

EVENT_TABLE = "governance_auditevent"
CHECKPOINT_TABLE = "governance_auditcheckpoint"

TRIGGERS: dict[str, tuple[str, ...]] = {
    EVENT_TABLE: ("attest_audit_event_append_only", "attest_audit_event_no_truncate"),
    CHECKPOINT_TABLE: ("attest_audit_checkpoint_append_only", "attest_audit_checkpoint_no_truncate"),
}
# pg_trigger.tgenabled: 'A' fires whatever session_replication_role says.
ENABLED_ALWAYS = "A"


def suspend_sql(tables: list[str] | tuple[str, ...]) -> list[str]:
    """Statements that switch the triggers of ``tables`` off (owner or superuser only).

    Only for the same transaction as the statements they make room for (``manage.py flush``, tests
    that tamper on purpose), followed by ``restore_sql``: ALTER TABLE holds an exclusive lock until
    commit, so no other session ever sees the table unprotected.
    """
    return [f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"' for table in tables for name in TRIGGERS[table]]


def restore_sql(tables: list[str] | tuple[str, ...]) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER "{name}"'
        for table in tables
        for name in TRIGGERS[table]
    ]


def missing_protection(connection) -> list[str]:
    """Triggers that are absent or not enabled ALWAYS, as readable lines (empty when all is well)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, t.tgname, t.tgenabled
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relname = ANY(%s) AND NOT t.tgisinternal
            """,
            [list(TRIGGERS)],
        )
        found = {(table, name): enabled for table, name, enabled in cursor.fetchall()}
    problems = []
    for table, names in TRIGGERS.items():
        for name in names:
            state = found.get((table, name))
            if state is None:
                problems.append(f"trigger {name} on {table} is missing")
            elif state != ENABLED_ALWAYS:
                problems.append(f"trigger {name} on {table} is not enabled ALWAYS (state {state!r})")
    return problems
