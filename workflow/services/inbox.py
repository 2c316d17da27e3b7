"""In-app notifications (each person's inbox) and the daily e-mail digest of what is unread.

``notification_send`` is called inside the transaction of the change it tells of, so a rolled-back change
notifies nobody. A ``dedupe_key`` makes a repeated job idempotent: the same key for the same person is
written once (a reminder per stage per day). Reading is each person's own business: only the recipient
lists or marks their notifications (``workflow.selectors.notification_list``).

The digest (``digests_send``, daily through beat and ``manage.py send_notification_digests``) e-mails each
person with unread notifications one message, at most once per UTC day: ``NotificationDigest`` keeps when
their last one went, under a row lock, so two overlapping runs send one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import User
from audit import record
from workflow.models import Notification, NotificationDigest

DIGEST_LIMIT = 50  # notifications listed in one digest; the rest are counted


def notification_send(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    link: str = "",
    obj: Any = None,
    dedupe_key: str = "",
) -> list[Notification]:
    """One notification per active recipient (each person once); returns the ones written now.

    With ``dedupe_key``, a recipient who already has a notification with that key gets none."""
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not people:
        return []
    rows = [
        Notification(
            recipient=user,
            kind=kind,
            title=title[:300],
            link=link,
            object_type=_object_type(obj),
            object_id=str(obj.pk) if obj is not None else "",
            dedupe_key=dedupe_key,
        )
        for user in people.values()
    ]
    if not dedupe_key:
        return Notification.objects.bulk_create(rows)
    already = set(
        Notification.objects.filter(recipient_id__in=people, dedupe_key=dedupe_key).values_list(
            "recipient_id", flat=True
        )
    )
    fresh = [row for row in rows if row.recipient_id not in already]
    # ignore_conflicts: a concurrent run that wrote the same key first wins; nobody is told twice
    Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    return fresh


def _object_type(obj: Any) -> str:
    if obj is None:
        return ""
    return getattr(obj, "AUDIT_OBJECT_TYPE", None) or obj._meta.label_lower


def notifications_mark_read(*, actor: User, ids: list[int] | None = None) -> int:
    """Mark the actor's own unread notifications read (those in ``ids``, or all); returns how many.

    Ids of other people's notifications are ignored as if they did not exist."""
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def unread_count(user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# --- e-mail digest ------------------------------------------------------------------------------------


def digest_candidates(*, now: dt.datetime) -> QuerySet[User]:
    """Active people with an e-mail address and unread notifications, not yet sent a digest today (UTC)."""
    today = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    unread = Notification.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True)
    sent_today = NotificationDigest.objects.filter(user=OuterRef("pk"), last_sent_at__gte=today)
    return (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(Exists(unread))
        .exclude(Exists(sent_today))
        .order_by("pk")
    )


def digests_send(*, now: dt.datetime | None = None) -> list[str]:
    """Send every due digest; returns the usernames sent one."""
    now = now or timezone.now()
    return [user.username for user in digest_candidates(now=now) if digest_send(user=user, now=now)]


def digest_send(*, user: User, now: dt.datetime | None = None) -> bool:
    """E-mail ``user`` one digest of their unread notifications unless one went today (UTC); True if sent.

    The send happens inside the transaction that records it: a failed send records nothing (the next run
    tries again), and the row lock makes a concurrent run wait and then find today's digest sent."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    with transaction.atomic():
        NotificationDigest.objects.get_or_create(user=user)
        state = NotificationDigest.objects.select_for_update().get(user=user)
        if state.last_sent_at is not None and state.last_sent_at.astimezone(dt.UTC).date() >= today:
            return False
        unread = list(
            Notification.objects.filter(recipient=user, read_at__isnull=True).order_by("-created_at", "-id")
        )
        if not unread or not user.email:
            return False
        subject, body = _digest_text(user, unread)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
        state.last_sent_at = now
        state.notifications_sent = len(unread)
        state.save(update_fields=["last_sent_at", "notifications_sent"])
        record(
            action="notification.digest_sent",
            actor=None,
            obj=state,
            after={"user": user.username, "unread": len(unread)},
        )
    return True


def _digest_text(user: User, unread: list[Notification]) -> tuple[str, str]:
    count = len(unread)
    subject = f"[Attest] {count} unread notification{'s' if count != 1 else ''}"
    base = getattr(settings, "ATTEST_BASE_URL", "").rstrip("/")
    lines = [f"Hello {user.printed_name},", "", f"You have {count} unread notification(s) in Attest:", ""]
    for item in unread[:DIGEST_LIMIT]:
        when = item.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"- {when} · {item.get_kind_display()}: {item.title}")
        if item.link:
            lines.append(f"  {base}{item.link}")
    if count > DIGEST_LIMIT:
        lines.append(f"… and {count - DIGEST_LIMIT} more.")
    lines += ["", f"Read them all in your inbox: {base}/notifications/"]
    return subject, "\n".join(lines) + "\n"
