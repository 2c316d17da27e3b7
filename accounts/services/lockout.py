"""Throttling of password guesses: progressive lockout per account and per client address.

Every place that checks a password (or an authenticator code) asks ``lock_for`` first and reports the
outcome after: sign-in through the API token endpoint, ``/login/`` and ``/admin/login/`` (a failure
reaches ``failure_record`` through django.contrib.auth's ``user_login_failed`` signal), the password
re-entered for an approval or a periodic review signature, and the TOTP endpoints. While a lock holds,
the password is not even checked, so guesses made then learn nothing; the signing endpoints answer a
locked account exactly as they answer a wrong password.

Both the account (whoever tries it) and the client address (whichever accounts it tries) are counted:
``ATTEST_LOCKOUT_ACCOUNT_FAILURES`` or ``ATTEST_LOCKOUT_CLIENT_FAILURES`` failures within
``ATTEST_LOCKOUT_WINDOW_SECONDS`` lock it for ``ATTEST_LOCKOUT_SECONDS``, doubled at each further lockout
up to ``ATTEST_LOCKOUT_MAX_SECONDS``; a day without failures forgets the earlier lockouts. The counts live
in PostgreSQL (``AuthThrottle``), so every web process, and `make run` without Redis, shares them; the
client address is REMOTE_ADDR unless trusted proxies are configured (``accounts.context.client_address``).

Why not django-axes: it counts only ``authenticate()`` calls, while signatures and the authenticator
re-check a password with ``check_password``; its lockout answer is its own page or response, where the
signing endpoints must answer a lock exactly as a wrong password and the API must keep its error body;
and its AxesBackend insists on a request in every ``authenticate()`` call. The rule here is one table and
three functions, used the same way by all five entry points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuthThrottle
from audit import record

ACCOUNT, CLIENT = "account", "client"
QUIET_PERIOD = timedelta(days=1)  # a day without failures forgets earlier lockouts
MAX_DOUBLINGS = 20  # 2**20 times the base length is past any sensible maximum already


@dataclass(frozen=True)
class Lock:
    scope: str  # ACCOUNT or CLIENT
    until: datetime

    @property
    def retry_after(self) -> int:
        """Whole seconds until the lock ends (at least 1), for a Retry-After header."""
        return max(1, math.ceil((self.until - timezone.now()).total_seconds()))


def account_key(username: str) -> str:
    return f"{ACCOUNT}:{(username or '').strip().lower()[:150]}"


def client_key(client: str) -> str:
    return f"{CLIENT}:{client}"


def _keys(username: str | None, client: str | None) -> list[tuple[str, int]]:
    """(key, failure limit) for the account and the client address, in key order (the lock order)."""
    keys = []
    if username:
        keys.append((account_key(username), settings.ATTEST_LOCKOUT_ACCOUNT_FAILURES))
    if client:
        keys.append((client_key(client), settings.ATTEST_LOCKOUT_CLIENT_FAILURES))
    return sorted(keys)


def _scope(key: str) -> str:
    return key.split(":", 1)[0]


def lock_for(*, username: str | None, client: str | None) -> Lock | None:
    """The lock in force on this account or this client address, the longer one if both are locked."""
    keys = [key for key, _ in _keys(username, client)]
    row = (
        AuthThrottle.objects.filter(key__in=keys, locked_until__gt=timezone.now())
        .order_by("-locked_until")
        .first()
    )
    return Lock(_scope(row.key), row.locked_until) if row else None


def failure_record(*, username: str | None, client: str | None, attempt: str) -> Lock | None:
    """Count a wrong password or code (``attempt`` says where: sign_in, signature, totp_removal, …).

    Locks the account or the client address that reaches its limit and records ``auth.locked_out`` in
    the same transaction; returns that new lock, if any. Failures while locked are not counted (the
    password was not checked).
    """
    now = timezone.now()
    new_lock = None
    with transaction.atomic():
        for key, limit in _keys(username, client):
            until, lockouts = _count(key, limit, now)
            if until is None:
                continue
            new_lock = new_lock or Lock(_scope(key), until)
            record(
                action="auth.locked_out",
                actor=None,
                after={
                    "scope": _scope(key),
                    "key": key.split(":", 1)[1],
                    "attempt": attempt,
                    "until": until.isoformat(),
                    "lockout": lockouts,
                },
            )
    return new_lock


def _count(key: str, limit: int, now: datetime) -> tuple[datetime | None, int]:
    row, _ = AuthThrottle.objects.select_for_update().get_or_create(
        key=key, defaults={"first_failure_at": now, "last_failure_at": now}
    )
    if row.locked_until is not None and row.locked_until > now:
        return None, row.lockouts
    if now - row.last_failure_at > QUIET_PERIOD:
        row.lockouts = 0
    if now - row.first_failure_at > timedelta(seconds=settings.ATTEST_LOCKOUT_WINDOW_SECONDS):
        row.failures, row.first_failure_at = 0, now
    row.failures += 1
    row.last_failure_at = now
    locked = None
    if row.failures >= limit:
        locked = now + lock_length(row.lockouts)
        row.locked_until, row.lockouts = locked, row.lockouts + 1
        row.failures, row.first_failure_at = 0, now
    row.save()
    return locked, row.lockouts


def lock_length(earlier_lockouts: int) -> timedelta:
    """The base length, doubled for each earlier lockout, at most the maximum."""
    seconds = settings.ATTEST_LOCKOUT_SECONDS * 2 ** min(earlier_lockouts, MAX_DOUBLINGS)
    return timedelta(seconds=min(seconds, settings.ATTEST_LOCKOUT_MAX_SECONDS))


def success_record(*, username: str) -> None:
    """The account's owner proved themselves: forget its failures. The client's count is kept, or one
    account of one's own would wipe the count of guesses at everyone else's."""
    # a lock in force stays: every password check asks for it first, but a session opened some other way
    # (an administrator's impersonation, a future single sign-on) must not lift it
    AuthThrottle.objects.filter(key=account_key(username)).exclude(locked_until__gt=timezone.now()).delete()


def lock_lift(*, actor, throttle: AuthThrottle) -> None:
    """An administrator lifts a lock early (someone guessing at a person's account locked them out): the
    count goes with it. Audited as ``auth.lock_lifted`` with what the count held."""
    with transaction.atomic():
        record(
            action="auth.lock_lifted",
            actor=actor,
            before={
                "scope": _scope(throttle.key),
                "key": throttle.key.split(":", 1)[1],
                "failures": throttle.failures,
                "locked_until": throttle.locked_until.isoformat() if throttle.locked_until else None,
                "lockouts": throttle.lockouts,
            },
        )
        throttle.delete()


def stale_purge() -> int:
    """Delete the counts of accounts and addresses with no failure for a day and no lock in force."""
    cutoff = timezone.now() - QUIET_PERIOD
    stale = AuthThrottle.objects.filter(last_failure_at__lt=cutoff).exclude(locked_until__gt=timezone.now())
    deleted, _ = stale.delete()
    return deleted
