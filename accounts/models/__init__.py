"""Accounts and access: users and teams, API tokens, authenticators, sign-in locks and object grants."""

from accounts.models.accounts import ApiToken, AuthThrottle, Team, User
from accounts.models.grants import Grant, GrantLevel
from accounts.models.totp import TotpDevice

__all__ = [
    "ApiToken",
    "AuthThrottle",
    "Grant",
    "GrantLevel",
    "Team",
    "TotpDevice",
    "User",
]
