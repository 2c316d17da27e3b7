"""The password backend, refusing accounts whose password sign-in is switched off (single sign-on)."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.services.federation import local_password_allowed

PASSWORDS_OFF = (
    "Password sign-in is switched off for this account: sign in through your organisation's identity "
    "provider."
)


class LocalPasswordBackend(ModelBackend):
    """Django's password check, for the accounts ``ATTEST_LOCAL_PASSWORDS`` lets use one: every form and
    endpoint that calls ``authenticate`` (the sign-in page, the admin's, the token endpoint) obeys it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if not local_password_allowed(username or ""):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


class FederatedBackend(ModelBackend):
    """The backend a session begun through an identity provider is recorded under (Django keeps one per
    session and asks it for the user at each request, refusing an account deactivated since). It checks no
    password: ``authenticate`` never vouches for anyone; the IdP did, in accounts.sso."""

    def authenticate(self, request, **kwargs):
        return None


FEDERATED_BACKEND = "accounts.backends.FederatedBackend"
