"""The audit log's move from ``governance`` to its own app keeps every row, content type and hash.

GIVEN a database at the last migration before the move (governance 0012, no ``audit`` app), with events,
a signed checkpoint, a verification and the content types, permission and admin log entry that database
had; WHEN it migrates forward; THEN the rows are the same rows, the content types are the same rows under
``audit``, the chain verifies, and an event about a verification still names ``governance.auditverification``.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from audit import checkpoints, record
from audit.models import AuditEvent, AuditVerification
from audit.recorder import object_type
from tests.audit.conftest import verify, write_events

pytestmark = pytest.mark.slow  # tens of seconds: scheduled first (tests/conftest.py)

BEFORE_THE_MOVE = [("governance", "0012_auth_throttle"), ("audit", None), ("workflow", None)]
MODELS = ("auditevent", "auditcheckpoint", "auditverification")


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def content_types_as_before_the_move() -> dict[str, int]:
    """The rows the old database had: ``governance.audit*`` (migrating back renamed the test database's
    ``audit.*`` rows, or there were none), with a permission and an admin log entry on one of them."""
    assert not ContentType.objects.filter(app_label="audit").exists()
    ids = {
        model: ContentType.objects.get_or_create(app_label="governance", model=model)[0].pk
        for model in MODELS
    }
    Permission.objects.get_or_create(
        content_type_id=ids["auditevent"],
        codename="view_auditevent",
        defaults={"name": "Can view audit event"},
    )
    return ids


@pytest.mark.django_db(transaction=True)
def test_it_moves_the_audit_log_without_changing_a_row(signing_key, admin_user):
    migrate(BEFORE_THE_MOVE)
    try:
        write_events(5, actor=admin_user)
        checkpoints.create(actor=None, force=True)
        verification = AuditVerification.objects.create(requested_by=admin_user)
        with transaction.atomic():
            record(action="audit.verified", actor=admin_user, obj=verification, after={"intact": True})
        ids = content_types_as_before_the_move()
        LogEntry.objects.create(
            user=admin_user, content_type_id=ids["auditevent"], object_id="1", object_repr="#1",
            action_flag=ADDITION,
        )  # fmt: skip
        rows_before = list(AuditEvent.objects.values_list("seq", "object_type", "hash"))
    finally:
        migrate(latest())

    assert list(AuditEvent.objects.values_list("seq", "object_type", "hash")) == rows_before
    assert rows_before[-1][1] == "governance.auditverification"
    moved = {ct.model: ct.pk for ct in ContentType.objects.filter(app_label="audit")}
    assert moved == ids
    assert not ContentType.objects.filter(app_label="governance", model__in=MODELS).exists()
    assert Permission.objects.get(codename="view_auditevent").content_type.app_label == "audit"
    assert LogEntry.objects.get(object_id="1").content_type.model_class() is AuditEvent
    assert verify().intact


@pytest.mark.django_db(transaction=True)
def test_events_about_moved_models_keep_the_object_type_they_were_written_with(admin_user):
    verification = AuditVerification.objects.create(requested_by=admin_user)
    with transaction.atomic():
        event = record(action="audit.verified", actor=admin_user, obj=verification, after={"intact": True})

    assert event.object_type == object_type(AuditVerification) == "governance.auditverification"
    assert verification._meta.app_label == "audit"
