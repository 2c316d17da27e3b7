"""Accounts and access: users and teams, single sign-on, SCIM provisioning, API tokens, authenticators, sign-in locks and object grants."""

from accounts.models.accounts import ApiToken, AuthThrottle, Team, User
from accounts.models.federation import FederatedIdentity, GroupMapping, IdentityProvider, StepUp
from accounts.models.grants import Grant, GrantLevel
from accounts.models.scim import ScimClient, ScimGroup, ScimIdentity
from accounts.models.totp import TotpDevice

__all__ = [
    "ApiToken",
    "AuthThrottle",
    "FederatedIdentity",
    "Grant",
    "GrantLevel",
    "GroupMapping",
    "IdentityProvider",
    "ScimClient",
    "ScimGroup",
    "ScimIdentity",
    "StepUp",
    "Team",
    "TotpDevice",
    "User",
]
