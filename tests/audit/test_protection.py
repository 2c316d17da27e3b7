"""The database refuses to change or remove audit rows, whoever asks and however."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import checkpoints, protection
from audit.models import AuditCheckpoint, AuditEvent
from tests.audit.conftest import verify, write_events

pytestmark = pytest.mark.django_db

REFUSED = "append-only"


def _refused(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        # Fire the deferred foreign-key checks of this test's inserts now, or TRUNCATE refuses for
        # "pending trigger events" before our trigger has a say.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE governance_auditevent SET reason = 'edited'",
        "UPDATE governance_auditevent SET actor_id = NULL, reason = 'edited'",
        "DELETE FROM governance_auditevent",
        "TRUNCATE governance_auditevent",
        "TRUNCATE governance_auditevent CASCADE",
    ],
)
def test_it_refuses_to_change_or_remove_events(sql):
    write_events(2)
    assert REFUSED in _refused(sql)
    assert AuditEvent.objects.count() == 2


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE governance_auditcheckpoint SET chain_head = 'x'",
        "DELETE FROM governance_auditcheckpoint",
        "TRUNCATE governance_auditcheckpoint",
    ],
)
def test_it_refuses_to_change_or_remove_checkpoints(sql, signing_key):
    write_events(1)
    checkpoints.create()
    assert REFUSED in _refused(sql)
    assert AuditCheckpoint.objects.count() == 1


def test_it_keeps_refusing_under_replica_session_replication_role():
    write_events(1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
            cursor.execute("DELETE FROM governance_auditevent")
        with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
            cursor.execute("UPDATE governance_auditevent SET reason = 'edited'")


def test_it_lets_through_only_the_actor_being_set_to_null(maya):
    (event,) = write_events(1, actor=maya)
    assert REFUSED in _refused("UPDATE governance_auditevent SET actor_id = %s", [maya.pk + 1000])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE governance_auditevent SET actor_id = NULL WHERE seq = %s", [event.seq])
    assert AuditEvent.objects.get(seq=event.seq).actor_id is None


def test_it_has_every_trigger_enabled_always():
    assert protection.missing_protection(connection) == []


def test_it_reports_a_disabled_trigger_as_a_warning():
    write_events(1)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(protection.suspend_sql([protection.EVENT_TABLE])[0])
        report = verify()
        cursor.execute(protection.restore_sql([protection.EVENT_TABLE])[0])
    assert any("not enabled ALWAYS" in warning for warning in report.warnings)
    assert report.intact  # a warning, not a broken chain


@pytest.fixture
def app_role():
    """The production application role of docs/OPERATIONS.md: INSERT and SELECT on the audit tables,
    plus UPDATE of actor_id alone (Django's on_delete=SET_NULL when a user is deleted)."""
    name = f"attest_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOLOGIN")
        cursor.execute(f"GRANT SELECT, INSERT ON governance_auditevent, governance_auditcheckpoint TO {name}")
        cursor.execute(f"GRANT UPDATE (actor_id) ON governance_auditevent TO {name}")
    yield name
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"REVOKE ALL ON governance_auditevent, governance_auditcheckpoint FROM {name}")
        cursor.execute(f"DROP ROLE {name}")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE governance_auditevent SET reason = 'edited'",
        "UPDATE governance_auditevent SET actor_id = 1",
        "DELETE FROM governance_auditevent",
        "TRUNCATE governance_auditevent",
        "ALTER TABLE governance_auditevent DISABLE TRIGGER attest_audit_event_append_only",
        "ALTER TABLE governance_auditevent DISABLE TRIGGER ALL",
        "ALTER TABLE governance_auditcheckpoint DISABLE TRIGGER USER",
        "UPDATE governance_auditcheckpoint SET chain_head = 'x'",
        "DELETE FROM governance_auditcheckpoint",
        "TRUNCATE governance_auditcheckpoint",
        "SET session_replication_role = replica",
    ],
)
def test_it_refuses_the_application_role_every_way_round(app_role, sql):
    write_events(1)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {app_role}")
        with pytest.raises(DatabaseError) as caught, transaction.atomic():
            cursor.execute(sql)
    assert any(word in str(caught.value) for word in ("permission denied", "must be owner", REFUSED))


def test_it_lets_the_application_role_append_and_read(app_role):
    write_events(1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {app_role}")
        write_events(1)
        cursor.execute("SELECT count(*) FROM governance_auditevent")
        assert cursor.fetchone()[0] == 2


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_the_flush_command_of_an_owner_empty_the_tables():
    write_events(3)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    assert protection.missing_protection(connection) == []
