"""TOTP authenticators (RFC 6238): the second factor a user may enrol."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TotpDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238). Confirmed once the user has entered a valid code.

    ``last_step`` is the last accepted time step, so a code cannot be replayed.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp")
    secret = models.CharField(max_length=64)
    confirmed = models.BooleanField(default=False)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"TOTP for {self.user_id}"
