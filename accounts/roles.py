"""The five roles. Each is a Django group of the same name, created by a data migration."""

from enum import StrEnum


class Role(StrEnum):
    ML_ENGINEER = "ml-engineer"
    VALIDATOR = "validator"
    RISK_OFFICER = "risk-officer"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_NAMES = frozenset(role.value for role in Role)

# Roles that read every object in the inventory, whatever team owns it.
READ_EVERYTHING = frozenset({Role.AUDITOR, Role.RISK_OFFICER, Role.ADMIN})
