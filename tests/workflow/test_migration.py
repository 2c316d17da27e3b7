"""The workflow's move out of ``governance`` (now ``accounts``) keeps every row, key, content type and hash.

GIVEN a database at the migration state before the move (no ``workflow`` app: the approval models are
``governance``'s), with a user, a team, an approval request on the shipped policy, its signature, a
finding, an audit event about the approval, and a permission, object permission and admin log entry on
the approval's content type, all written through that state's models; WHEN it migrates forward; THEN
``workflow``'s models read the same rows and keys, the content type is the same row under ``workflow``
(so the permissions and the log entry follow), the event still names ``governance.approvalrequest``
as new events about approvals do, the chain verifies, and the row triggers carry ``workflow``'s names.
"""

from __future__ import annotations

import pytest
from django.apps import apps as django_apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from guardian.models import UserObjectPermission

from accounts.models import Team, User
from audit import record
from audit.models import AuditEvent
from audit.recorder import object_type
from tests.audit.conftest import verify
from workflow.models import ApprovalRequest, Finding, Signature

pytestmark = pytest.mark.slow  # tens of seconds: scheduled first (tests/conftest.py)

MOVE = ("governance", "0014_workflow_moves_out")


def executor() -> MigrationExecutor:
    return MigrationExecutor(connection)


def before_the_move() -> list[tuple[str, str | None]]:
    """The nodes main stood at: governance's migration before the move, and no workflow app."""
    parents = executor().loader.graph.node_map[MOVE].parents
    (previous,) = [node.key for node in parents if node.key[0] == "governance"]
    return [previous, ("workflow", None)]


def migrate(targets):
    run = executor()
    run.loader.build_graph()
    return run.migrate(targets)


def seed(old_apps, *, requester, version) -> dict:
    """The records a database on main held, written through that state's models (``governance.*``)."""
    Group = old_apps.get_model("auth", "Group")
    OldTeam = old_apps.get_model("governance", "Team")
    OldUser = old_apps.get_model("governance", "User")
    OldPolicy = old_apps.get_model("governance", "Policy")
    OldApproval = old_apps.get_model("governance", "ApprovalRequest")
    OldSignature = old_apps.get_model("governance", "Signature")
    OldFinding = old_apps.get_model("governance", "Finding")

    team = OldTeam.objects.create(
        name="migrated", title="Migrated", group=Group.objects.create(name="migrated")
    )
    signer = OldUser.objects.create(username="vera", first_name="Vera", last_name="Signer", password="!")
    policy = OldPolicy.objects.get(tier=version.model.risk_tier, is_active=True)
    approval = OldApproval.objects.create(
        model_version_id=version.pk,
        environment="production",
        policy=policy,
        stage_keys=["validation"],
        evidence_manifest={"artifact": "sha256:0"},
        evidence_digest="a" * 64,
        requested_by_id=requester.pk,
    )
    signature = OldSignature.objects.create(
        request=approval,
        stage_key="validation",
        signer=signer,
        printed_name="Vera Signer",
        roles=["validator"],
        decision="approve",
        meaning="validated",
        signed_at=timezone.now(),
        auth_method="password",
        evidence_digest="a" * 64,
        policy_version=policy.version,
        policy_tier=policy.tier,
        requester_id_at_signing=requester.pk,
        submitter_id_at_signing=version.created_by_id,
        owner_id_at_signing=version.model.owner_id,
        payload=b"{}",
        server_signature="b" * 128,
        key_id="c" * 64,
    )
    finding = OldFinding.objects.create(
        model_id=version.model_id,
        severity="high",
        title="Drift on income",
        owner_id=requester.pk,
        raised_by_id=requester.pk,
    )
    with transaction.atomic():
        event = record(action="approval.requested", actor=requester, obj=approval, after={"id": approval.pk})
    return {
        "team": team.pk,
        "signer": signer.pk,
        "policy": policy.pk,
        "approval": approval.pk,
        "signature": signature.pk,
        "finding": finding.pk,
        "event": event.seq,
    }


def grant_on_the_old_content_type(approval_pk: int, user) -> int:
    """An object permission and an admin log entry naming ``governance.approvalrequest``."""
    content_type = ContentType.objects.get(app_label="governance", model="approvalrequest")
    permission = content_type.permission_set.get(codename="view_approvalrequest")
    # bulk_create: guardian's save() would look the model up, and this state has no such model
    UserObjectPermission.objects.bulk_create(
        [
            UserObjectPermission(
                user=user, permission=permission, content_type=content_type, object_pk=str(approval_pk)
            )
        ]
    )
    LogEntry.objects.create(
        user=user,
        content_type=content_type,
        object_id=str(approval_pk),
        object_repr="approval",
        action_flag=ADDITION,
    )
    return content_type.pk


# The models that moved keep their governance object type (``AUDIT_OBJECT_TYPE``); the ones added to the
# workflow later never lived elsewhere: they keep their content types and their own table names.
MOVED_MODELS = [
    model
    for model in django_apps.get_app_config("workflow").get_models()
    if getattr(model, "AUDIT_OBJECT_TYPE", "").startswith("governance.")
]
ADDED_AFTER_THE_MOVE = [
    model._meta.model_name
    for model in django_apps.get_app_config("workflow").get_models()
    if model not in MOVED_MODELS
]


def trigger_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE 'pgtrigger%%'",
            [table],
        )
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_it_moves_the_workflow_without_changing_a_row(maya, admin_user, quick_version):
    old_state = migrate(before_the_move())
    try:
        # (models added to the workflow after the move keep their content types: they never lived elsewhere)
        assert (
            not ContentType.objects.filter(app_label="workflow")
            .exclude(model__in=ADDED_AFTER_THE_MOVE)
            .exists()
        )
        seeded = seed(old_state.apps, requester=maya, version=quick_version)
        content_type_id = grant_on_the_old_content_type(seeded["approval"], admin_user)
        events_before = list(AuditEvent.objects.values_list("seq", "object_type", "hash"))
    finally:
        migrate(executor().loader.graph.leaf_nodes())

    approval = ApprovalRequest.objects.get(pk=seeded["approval"])
    assert approval.policy_id == seeded["policy"]
    assert approval.requested_by == maya
    assert approval.model_version == quick_version
    assert list(approval.signatures.values_list("pk", "signer_id")) == [
        (seeded["signature"], seeded["signer"])
    ]
    assert Finding.objects.get(pk=seeded["finding"]).model_id == quick_version.model_id
    assert Team.objects.get(pk=seeded["team"]).group.name == "migrated"
    assert User.objects.get(pk=seeded["signer"]).get_full_name() == "Vera Signer"

    moved = ContentType.objects.get_for_model(ApprovalRequest)
    assert (moved.pk, moved.app_label) == (content_type_id, "workflow")
    assert not ContentType.objects.filter(app_label="governance", model="approvalrequest").exists()
    assert LogEntry.objects.get(object_id=str(approval.pk)).content_type.model_class() is ApprovalRequest
    assert admin_user.has_perm("workflow.view_approvalrequest", approval)

    assert list(AuditEvent.objects.values_list("seq", "object_type", "hash")) == events_before
    assert AuditEvent.objects.get(seq=seeded["event"]).object_type == "governance.approvalrequest"
    with transaction.atomic():
        later = record(action="approval.cancelled", actor=maya, obj=approval, after={"id": approval.pk})
    assert later.object_type == object_type(ApprovalRequest) == "governance.approvalrequest"
    assert verify().intact

    expected = {trigger.get_pgid(Signature) for trigger in Signature._meta.triggers}
    assert trigger_names("governance_signature") == expected
    with pytest.raises(DatabaseError), transaction.atomic():
        Signature.objects.filter(pk=seeded["signature"]).update(comment="changed")


@pytest.mark.django_db(transaction=True)
def test_a_fresh_database_holds_the_moved_tables_under_their_old_names():
    tables = set(connection.introspection.table_names())
    moved = [model._meta.db_table for model in MOVED_MODELS]
    assert {"governance_approvalrequest", "governance_signature", "governance_finding"} <= set(moved)
    assert set(moved) <= tables
    assert not any(f"workflow_{model._meta.model_name}" in tables for model in MOVED_MODELS)
