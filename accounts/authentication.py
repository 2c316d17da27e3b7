"""DRF authentication classes that also tell the request context how the caller authenticated."""

from __future__ import annotations

from knox.auth import TokenAuthentication
from rest_framework import authentication

from accounts import context


class BearerTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer attest_…`` (django-rest-knox: hashed, expiring, many per user)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, _token = result
            context.update(auth_method="token", actor_id=user.pk)
        return result


class SessionAuthentication(authentication.SessionAuthentication):
    """Browser sessions, with DRF's CSRF enforcement."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            context.update(auth_method="session", actor_id=result[0].pk)
        return result
