"""Accounts and access: users and teams, API tokens, authenticators, sign-in locks and object grants; and,
until the audit log has its own app, the audit log's tables."""

from accounts.models.accounts import ApiToken, AuthThrottle, Team, User
from accounts.models.audit import AuditCheckpoint, AuditEvent, AuditVerification
from accounts.models.grants import Grant, GrantLevel
from accounts.models.totp import TotpDevice

__all__ = [
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditVerification",
    "AuthThrottle",
    "Grant",
    "GrantLevel",
    "Team",
    "TotpDevice",
    "User",
]
