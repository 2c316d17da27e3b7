"""Reference data is declared once: roles in accounts.roles, the catalogue and policies in workflow/data.

Migrations keep frozen copies of how they seeded (a migration must not import code that may change after
it ran); these tests hold the one copy that restates a declaration to the declaration.
"""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group

from accounts.roles import ROLE_NAMES

pytestmark = pytest.mark.django_db


def test_the_role_groups_migration_seeds_declared_roles():
    # Its frozen list may only fall behind the declaration: later roles get their groups after migrate
    # (accounts.services.roles.ensure_role_groups), never from a new migration.
    migration = importlib.import_module("accounts.migrations.0002_role_groups")
    assert set(migration.ROLES) <= ROLE_NAMES


def test_every_declared_role_has_its_group():
    assert set(Group.objects.filter(name__in=ROLE_NAMES).values_list("name", flat=True)) == ROLE_NAMES
