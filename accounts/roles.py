"""The roles, declared once. Each is a Django group of the same name.

A role is one member of :class:`Role` and one :class:`RoleSpec` in :data:`ROLES` (how the console names it,
what it is for, whether it sees every team's objects); what it may do is its rows in
``accounts.access.ACTION_ROLES``. The groups are created from this declaration after every migrate
(``accounts.services.roles.ensure_role_groups``), so a new role needs no migration. This module imports no
app: the audit log reads it to name the role an actor acted in.
"""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ML_ENGINEER = "ml-engineer"
    VALIDATOR = "validator"
    RISK_OFFICER = "risk-officer"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class RoleSpec:
    """How a role reads in the console, what it is for, and whether its reach crosses teams.

    ``all_teams``: the role reads every object in the inventory and acts (within ACTION_ROLES) on any
    team's; otherwise it sees what its teams own and what is granted to them or to the person.
    """

    label: str
    purpose: str
    all_teams: bool = False


ROLES: dict[Role, RoleSpec] = {
    Role.ML_ENGINEER: RoleSpec(
        "ML engineer", "First line: registers models and versions, runs checks, requests approval, deploys."
    ),
    Role.VALIDATOR: RoleSpec(
        "Validator", "Second line: validates and signs validation stages; never for a model they built."
    ),
    Role.RISK_OFFICER: RoleSpec(
        "Risk officer",
        "Second line: approves for production, accepts risk, reads the whole inventory.",
        all_teams=True,
    ),
    Role.AUDITOR: RoleSpec(
        "Auditor", "Third line: reads everything, changes nothing, verifies the audit chain.", all_teams=True
    ),
    Role.ADMIN: RoleSpec(
        "Administrator",
        "Runs Attest: people, policies, controls, webhooks and GRC connectors.",
        all_teams=True,
    ),
}

ROLE_NAMES = frozenset(role.value for role in Role)

# Roles that read every object in the inventory, whatever team owns it.
READ_EVERYTHING = frozenset(role for role, spec in ROLES.items() if spec.all_teams)


def _every_role_declared() -> None:
    missing = set(Role) - set(ROLES)
    if missing:
        raise RuntimeError(f"roles without a RoleSpec in accounts.roles.ROLES: {sorted(missing)}")


_every_role_declared()
