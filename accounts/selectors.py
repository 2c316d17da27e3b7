"""Account reads a user sees (teams, their own tokens and authenticator): always scoped by ``access`` first."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from accounts import access
from accounts.models import ApiToken, Team, TotpDevice, User


def team_list(*, user) -> QuerySet[Team]:
    """Teams the user may see, with members prefetched (two queries whatever the page size)."""
    members = Prefetch("group__user_set", queryset=User.objects.order_by("username").only("id", "username"))
    return (
        access.visible_teams(user)
        .select_related("group")
        .prefetch_related(members)
        .annotate(member_count=Count("group__user", distinct=True))
        .order_by("name")
    )


def token_list(*, user) -> QuerySet[ApiToken]:
    """The user's own live tokens; nobody lists another person's tokens through the API."""
    if not access.is_active_user(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created")


def totp_device(*, user) -> TotpDevice | None:
    """The user's own authenticator (confirmed or still being enrolled), if any."""
    if not access.is_active_user(user):
        return None
    return TotpDevice.objects.filter(user=user).first()


def totp_enrolment(*, user) -> dict[str, str] | None:
    """The secret and otpauth:// URI of the user's authenticator while it awaits its first code."""
    import pyotp

    from accounts.services.totp import ISSUER

    device = totp_device(user=user)
    if device is None or device.confirmed:
        return None
    uri = pyotp.TOTP(device.secret).provisioning_uri(name=user.get_username(), issuer_name=ISSUER)
    return {"secret": device.secret, "uri": uri}
