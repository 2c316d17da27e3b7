"""The sign-in forms of ``/login/`` and ``/admin/login/``, refused while the account or address is locked.

A wrong password is counted by the ``user_login_failed`` receiver (accounts.signals) and a success
clears the account's count (``user_logged_in``); here the lock is checked before the password is.
"""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts.backends import PASSWORDS_OFF
from accounts.context import client_address
from accounts.services import accounts, federation, lockout

LOCKED_OUT = (
    "Too many failed sign-in attempts for this account or from this address. "
    "Wait a few minutes before you try again."
)


class LockoutMixin:
    """For an AuthenticationForm: refuse without checking the password while a lock holds."""

    locked: lockout.Lock | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and not federation.local_password_allowed(username):
            raise ValidationError(PASSWORDS_OFF, code="passwords_off")
        if username:
            client = client_address(self.request)
            self.locked = lockout.lock_for(username=username, client=client)
            if self.locked is not None:
                accounts.login_failed(username=username, client=client, locked=self.locked)
                raise ValidationError(LOCKED_OUT, code="locked_out")
        return super().clean()


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    pass
