"""Governance models: accounts and teams, the audit log, policies, approvals and findings."""

from governance.models.accounts import ApiToken, Team, User
from governance.models.audit import AuditCheckpoint, AuditEvent, AuditVerification

__all__ = ["ApiToken", "AuditCheckpoint", "AuditEvent", "AuditVerification", "Team", "User"]
