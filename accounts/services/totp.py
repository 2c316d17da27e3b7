"""Optional TOTP (RFC 6238) as a second factor for electronic signatures, with pyotp.

Enrolment is two steps: ``totp_begin`` stores an unconfirmed secret and returns the provisioning URI
for an authenticator app; ``totp_confirm`` accepts it once the user proves they can produce a code.
A confirmed device is required at every signature; an accepted code cannot be used twice.
"""

from __future__ import annotations

import datetime as dt

import pyotp
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import context
from accounts.errors import ReauthenticationFailed
from accounts.models import TotpDevice, User
from accounts.services import lockout
from audit import record

ISSUER = "Attest"
VALID_WINDOW = 1  # accept the previous and next 30-second step too (clock drift)


def is_enrolled(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed=True).exists()


def totp_begin(*, actor: User) -> tuple[str, str]:
    """Start (or restart) enrolment; returns (secret, otpauth:// URI). Refused if already enrolled."""
    if is_enrolled(actor):
        raise ValidationError({"totp": ["An authenticator is already enrolled; remove it first."]})
    secret = pyotp.random_base32()
    with transaction.atomic():
        TotpDevice.objects.update_or_create(
            user=actor, defaults={"secret": secret, "confirmed": False, "last_step": 0}
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.get_username(), issuer_name=ISSUER)
    return secret, uri


def totp_confirm(*, actor: User, code: str) -> None:
    """Confirm enrolment with a code; wrong codes count towards the lockout (accounts.services.lockout),
    and while it holds every code is refused with the same message as a wrong one."""
    wrong = ValidationError({"code": ["That code is not valid; check the time on your device."]})
    username, client = actor.get_username(), context.current().client_ip
    if lockout.lock_for(username=username, client=client) is not None:
        raise wrong
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=actor, confirmed=False).first()
        if device is None:
            raise ValidationError({"code": ["Start enrolment first."]})
        accepted = _accept(device, code)
        if accepted:
            device.confirmed = True
            device.save(update_fields=["confirmed", "last_step"])
            record(action="auth.totp_enrolled", actor=actor, obj=actor)
    if not accepted:
        lockout.failure_record(username=username, client=client, attempt="totp_enrolment")
        raise wrong


def totp_remove(*, actor: User, password: str) -> None:
    """Remove the authenticator; the password is re-entered, throttled and answered as for a signature:
    a wrong password and a locked account or address get the same 401."""
    wrong = ReauthenticationFailed("The password is not correct.", fields={"password": ["Not correct."]})
    username, client = actor.get_username(), context.current().client_ip
    if lockout.lock_for(username=username, client=client) is not None:
        raise wrong
    if not actor.check_password(password):
        with transaction.atomic():
            record(
                action="auth.reauthentication_failed", actor=actor, obj=actor, after={"for": "totp_removal"}
            )
            lockout.failure_record(username=username, client=client, attempt="totp_removal")
        raise wrong
    lockout.success_record(username=username)
    with transaction.atomic():
        deleted, _ = TotpDevice.objects.filter(user=actor).delete()
        if deleted:
            record(action="auth.totp_removed", actor=actor, obj=actor)


def totp_reset(*, actor: User, user: User) -> None:
    """An administrator removes a person's authenticator (a lost phone) so they can enrol a new one;
    audited as ``auth.totp_removed`` naming the administrator as actor and the person as object."""
    with transaction.atomic():
        deleted, _ = TotpDevice.objects.filter(user=user).delete()
        if deleted:
            record(action="auth.totp_removed", actor=actor, obj=user)


def verify(user: User, code: str) -> bool:
    """Check a code for a signature; on success the code's time step is consumed (no replay)."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None or not _accept(device, code):
            return False
        device.save(update_fields=["last_step"])
        return True


def _accept(device: TotpDevice, code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit():
        return False
    totp = pyotp.TOTP(device.secret)
    now_step = totp.timecode(dt.datetime.now())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if step > device.last_step and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            device.last_step = step
            return True
    return False
