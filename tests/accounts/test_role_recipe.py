"""Adding a role is one declaration in accounts.roles plus its rows in access.ACTION_ROLES
(docs/ARCHITECTURE.md, "Add a role"): its group follows the declaration after migrate, and what it may do
follows the table, with no migration and no other edit.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal

from accounts import access, roles
from accounts.services import roles as role_groups
from tests.factories import UserFactory
from workflow import catalogue

pytestmark = pytest.mark.django_db
REVIEWER = "model-reviewer"


@pytest.fixture
def reviewer_declared(monkeypatch):
    """What the two declarations of a new role amount to, without a new enum member in the source."""
    names = roles.ROLE_NAMES | {REVIEWER}
    monkeypatch.setattr(role_groups, "ROLE_NAMES", names)
    monkeypatch.setattr(catalogue, "ROLE_NAMES", names)
    monkeypatch.setattr(access, "ROLE_NAMES", names)
    monkeypatch.setitem(access.ACTION_ROLES, "view", access.ACTION_ROLES["view"] | {REVIEWER})
    monkeypatch.setitem(
        access.ACTION_ROLES, "raise_finding", access.ACTION_ROLES["raise_finding"] | {REVIEWER}
    )


def test_a_declared_role_gets_its_group_after_migrate(reviewer_declared):
    assert not Group.objects.filter(name=REVIEWER).exists()

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert Group.objects.filter(name=REVIEWER).exists()


def test_a_declared_role_may_do_what_its_rows_say_and_nothing_else(reviewer_declared, credit_risk):
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    user = UserFactory(username="rex", role=REVIEWER, teams=[credit_risk])

    allowed = {action for action in access.ACTION_ROLES if access.may(user, action)}

    assert allowed == {"view", "raise_finding"}


def test_every_role_is_declared_with_a_label_and_purpose():
    assert set(roles.ROLES) == set(roles.Role)
    assert all(spec.label and spec.purpose for spec in roles.ROLES.values())
    assert {name for name, spec in roles.ROLES.items() if spec.all_teams} == roles.READ_EVERYTHING
