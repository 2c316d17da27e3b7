"""One table of actions → roles (``access.ACTION_ROLES``), asked through ``access.may`` everywhere.

Personas (tests/conftest.py): maya (ML engineer), victor (validator), rita (risk officer), aaron (auditor),
admin_user (administrator), ivan (inactive).
"""

from __future__ import annotations

import pytest

from accounts import access
from accounts.api.common import MayDo
from accounts.roles import ROLE_NAMES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "audits"),
    [
        ("maya", False),
        ("victor", False),
        ("rita", True),
        ("aaron", True),
        ("admin_user", True),
        ("ivan", False),
    ],
)
def test_it_answers_may_this_user_audit_from_the_table(request, persona, audits):
    user = request.getfixturevalue(persona)
    assert access.may(user, "audit") is audits


def test_it_refuses_an_action_the_table_does_not_name(maya):
    with pytest.raises(ValueError, match="unknown action"):
        access.may(maya, "fly")


def test_every_action_names_only_known_roles():
    for action, roles in access.ACTION_ROLES.items():
        assert roles <= ROLE_NAMES, action


@pytest.mark.parametrize(
    ("persona", "signs"),
    [("maya", False), ("victor", True), ("rita", True), ("aaron", False), ("admin_user", True)],
)
def test_it_lets_the_second_line_and_administrators_sign(request, persona, signs):
    """Administrators sign tier 1's accountable stage, so the table's ``sign`` row names them."""
    assert access.may(request.getfixturevalue(persona), "sign") is signs


def test_an_api_permission_names_an_action_of_the_table():
    assert MayDo.of("administer").action == "administer"
    with pytest.raises(ValueError, match="unknown action"):
        MayDo.of("admin")
