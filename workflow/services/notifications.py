"""Notifications: email to the people concerned and Standard Webhooks to subscribed endpoints.

``notify`` is called inside the transaction of the change it announces: it writes one delivery row per
endpoint and queues the sends on commit, so a rolled-back change announces nothing and a committed one
is announced at least once (deliveries are retried with exponential backoff and logged).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import secrets
import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from accounts import access
from accounts.models import Team, User
from accounts.roles import Role
from audit import record
from audit.chain import jsonable
from config import outbound
from jobs import leases
from jobs.kinds import FAILED, QUEUED, RETRYING, RUNNING, SUCCEEDED, JobKind, register
from workflow import dispatch, signals
from workflow.models import WebhookDelivery, WebhookEndpoint
from workflow.models.notifications import WEBHOOK_EVENTS

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A delivery waiting this long without a claim has its task sent again (the broker may have lost it).
RESEND_AFTER_SECONDS = 300
BACKOFF_BASE_SECONDS = 30
DELIVERY_TIMEOUT_SECONDS = 10
USER_AGENT = "Attest-Webhooks/1"

# Who is emailed about each event, by role (members of the model's team holding it) or the owner.
EMAIL_AUDIENCE: dict[str, set[str]] = {
    "approval.requested": {Role.VALIDATOR, Role.RISK_OFFICER},
    "approval.signed": {"requester"},
    "approval.approved": {"requester"},
    "approval.rejected": {"requester"},
    "approval.invalidated": {"requester"},
    "finding.raised": {"owner"},
    "review.overdue": {"owner"},
    "gate.closed": {"owner", Role.RISK_OFFICER},
}


def notify(
    event_type: str,
    payload: dict[str, Any],
    *,
    team: Team | None = None,
    recipients: list[User] | None = None,
) -> list[WebhookDelivery]:
    """Announce ``event_type``: webhook deliveries for subscribed endpoints, and email to ``recipients``."""
    body = {"type": event_type, "timestamp": timezone.now(), "data": jsonable(payload)}
    body = jsonable(body)
    deliveries = [
        WebhookDelivery.objects.create(
            endpoint=endpoint, message_id=f"msg_{uuid.uuid4().hex}", event_type=event_type, payload=body
        )
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        if endpoint.wants(event_type)
        and (endpoint.team_id is None or endpoint.team_id == getattr(team, "pk", None))
    ]
    ids = [delivery.pk for delivery in deliveries]
    emails = sorted({user.email for user in recipients or [] if user.email and user.is_active})
    transaction.on_commit(lambda: _queue(ids, event_type, body, emails))
    transaction.on_commit(lambda: _announce_to_listeners(event_type, body["data"]))
    return deliveries


def _announce_to_listeners(event_type: str, data: dict[str, Any]) -> None:
    """Other apps' receivers (write-backs); one that fails is logged, never the caller's failure."""
    for receiver, answer in signals.announced.send_robust(sender=None, event_type=event_type, payload=data):
        if isinstance(answer, Exception):
            logger.error("%s failed on %s: %r", getattr(receiver, "__name__", receiver), event_type, answer)


def _queue(delivery_ids: list[int], event_type: str, body: dict[str, Any], emails: list[str]) -> None:
    for delivery_id in delivery_ids:
        dispatch.deliver_webhook(delivery_id)
    if emails:
        dispatch.send_notification_email(event_type, body, emails)


def audience(
    event_type: str, *, team: Team | None, owner: User | None = None, requester: User | None = None
) -> list[User]:
    """The users to email about an event: team members holding the listed roles, the owner, the requester."""
    wanted = EMAIL_AUDIENCE.get(event_type, set())
    users: dict[int, User] = {}
    roles = [role for role in wanted if role in {r.value for r in Role}]
    if roles and team is not None:
        members = User.objects.filter(groups=team.group, is_active=True)
        # A second filter() joins the groups again: through team.group.user_set the role condition
        # landed on the team's own group row, so it asked for a group named both, and matched nobody.
        for user in members.filter(groups__name__in=roles).distinct():
            users[user.pk] = user
    for party, user in (("owner", owner), ("requester", requester)):
        if party in wanted and user is not None:
            users[user.pk] = user
    return list(users.values())


def email_send(*, event_type: str, body: dict[str, Any], emails: list[str]) -> None:
    """Send one plain-text email about an event (from a Celery task)."""
    data = body.get("data", {})
    subject = f"[Attest] {event_type.replace('.', ' ').replace('_', ' ')}"
    if "model" in data:
        # Not rstrip(" v") on the joined text: that also ate a model name's own trailing "v"s.
        version = data.get("version")
        subject += f": {data['model']}" + (f" v{version}" if version not in (None, "") else "")
    lines = [f"{key}: {value}" for key, value in sorted(data.items()) if not isinstance(value, dict | list)]
    send_mail(subject, "\n".join(lines) + "\n", settings.DEFAULT_FROM_EMAIL, emails, fail_silently=False)


# --- webhook endpoints ---------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_create(
    *, actor: User, url: str, events: list[str], description: str = "", team: Team | None = None
) -> WebhookEndpoint:
    access.require(actor, "administer")
    _check_endpoint(url, events)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url, events=events, description=description, team=team, secret=new_secret(), created_by=actor
        )
        record(action="webhook.created", actor=actor, obj=endpoint, after=_endpoint_facts(endpoint))
    return endpoint


def webhook_update(*, actor: User, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    access.require(actor, "administer")
    _check_endpoint(changes.get("url", endpoint.url), changes.get("events", endpoint.events))
    with transaction.atomic():
        before = _endpoint_facts(endpoint)
        for field in ("url", "events", "description", "is_active"):
            if field in changes:
                setattr(endpoint, field, changes[field])
        endpoint.save()
        record(
            action="webhook.changed",
            actor=actor,
            obj=endpoint,
            before=before,
            after=_endpoint_facts(endpoint),
        )
    return endpoint


def webhook_delete(*, actor: User, endpoint: WebhookEndpoint) -> None:
    access.require(actor, "administer")
    with transaction.atomic():
        record(action="webhook.deleted", actor=actor, obj=endpoint, before=_endpoint_facts(endpoint))
        endpoint.delete()


def _check_endpoint(url: str, events: list[str]) -> None:
    check_outbound_url(url)
    unknown = [event for event in events if event not in WEBHOOK_EVENTS]
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown event(s) {', '.join(unknown)}; known: {', '.join(WEBHOOK_EVENTS)}."]}
        )


def check_outbound_url(url: str) -> None:
    """A webhook or connector URL must be http(s) and may not target a non-public address unless an
    administrator allow-listed it (``config.outbound``); checked again at every send, as DNS may change."""
    try:
        outbound.check_url(url)
    except outbound.InvalidUrl:
        raise ValidationError({"url": ["An http(s) URL with a host name or address."]}) from None
    except outbound.Refused:
        raise ValidationError(
            {
                "url": [
                    "This URL's host is a loopback, private, link-local or otherwise non-public address; "
                    "an administrator can allow it with ATTEST_OUTBOUND_ALLOW_HOSTS."
                ]
            }
        ) from None


def _endpoint_facts(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "events": endpoint.events,
        "active": endpoint.is_active,
        "team": endpoint.team.name if endpoint.team else None,
    }


# --- delivery ------------------------------------------------------------------------------------


def _set_error(delivery: WebhookDelivery, error_type: str, message: str) -> list[str]:
    delivery.last_error = message or error_type
    return ["last_error"]


WEBHOOK = register(
    JobKind(
        name="webhook_delivery",
        model_label="workflow.WebhookDelivery",
        task="governance.tasks.deliver_webhook",
        state_values={
            QUEUED: "pending",
            RUNNING: "sending",
            RETRYING: "retrying",
            SUCCEEDED: "delivered",
            FAILED: "failed",
        },
        set_error=_set_error,
        max_attempts=lambda: MAX_ATTEMPTS,
        resend_seconds=lambda: RESEND_AFTER_SECONDS,
        backoff=lambda attempts: retry_delay(attempts),
    )
)


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """One attempt to deliver, if the delivery is due and nobody else holds it; returns the delivery
    with its status. A failed attempt is ``retrying`` until ``next_attempt_at`` (its task is sent again
    for then, on commit), ``failed`` after the last; a message for a finished or not-yet-due delivery
    does nothing."""
    try:
        claimed = leases.claim(WEBHOOK, delivery_id)
    except leases.Busy:
        claimed = None
    if claimed is None:
        return WebhookDelivery.objects.get(pk=delivery_id)
    delivery, token = claimed
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    status_code, error = _post_signed(delivery)
    return _attempted(delivery, token, status_code, error)


def _post_signed(delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    now = timezone.now()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(delivery.endpoint.secret).sign(delivery.message_id, now, body),
    }
    return http_post(delivery.endpoint.url, body.encode(), headers)


def _attempted(delivery: WebhookDelivery, token: str, status_code: int | None, error: str) -> WebhookDelivery:
    """Record the attempt under the claim: delivered (audited), or retrying / failed by the mechanism."""
    with leases.holding(WEBHOOK, delivery.pk, token) as current:
        if current is None:
            return WebhookDelivery.objects.get(pk=delivery.pk)
        current.last_status_code = status_code
        current.last_error = error
        if status_code is not None and 200 <= status_code < 300:
            current.delivered_at = timezone.now()
            leases.succeed_locked(WEBHOOK, current)
            current.save()
            record(
                action="webhook.delivered",
                actor=None,
                obj=current,
                after={
                    "event_type": current.event_type,
                    "attempts": current.attempts,
                    "status_code": status_code,
                },
            )
        else:
            delay = leases.retry_locked(WEBHOOK, current, "DeliveryFailed", error or f"HTTP {status_code}")
            if delay is not None:
                transaction.on_commit(partial(leases.send, WEBHOOK, current.pk, delay))
    return current


def retry_delay(attempts: int) -> int:
    """Exponential backoff: 30 s, 60 s, 2 min, 4 min, … after the 1st, 2nd, 3rd, … failed attempt."""
    return BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)


def http_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """Every outbound POST (webhooks, GRC connectors, test events): (HTTP status or None, error text).

    Through ``config.outbound``: the target's addresses are checked now and connected to as checked; a
    refused target is logged as ``outbound.REFUSED`` only, so the log says nothing about what is there.
    Redirects are not followed: a 3xx is a failed attempt, never a request to another host.
    """
    try:
        status = outbound.post(url, body, headers, timeout=DELIVERY_TIMEOUT_SECONDS)
    except outbound.Refused:
        return None, outbound.REFUSED
    except (outbound.InvalidUrl, OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


TEST_EVENT = "webhook.test"


def webhook_send_test(*, actor: User, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Deliver one signed ``webhook.test`` event to ``endpoint`` now; returns the logged delivery.

    Not retried: a failed attempt ends ``failed`` with the receiver's answer (or the connection error).
    """
    access.require(actor, "administer")
    body = {
        "type": TEST_EVENT,
        "timestamp": timezone.now(),
        "data": {
            "message": "A test event from Attest: if you can read this, the endpoint and its secret work.",
            "endpoint": endpoint.pk,
            "sent_by": actor.username,
        },
    }
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            message_id=f"msg_{uuid.uuid4().hex}",
            event_type=TEST_EVENT,
            payload=jsonable(body),
        )
    delivery = webhook_deliver(delivery_id=delivery.pk)
    if delivery.status != "delivered":
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
        delivery.refresh_from_db()
    with transaction.atomic():
        record(
            action="webhook.tested",
            actor=actor,
            obj=endpoint,
            after={
                "delivery": delivery.pk,
                "status": delivery.status,
                "status_code": delivery.last_status_code,
            },
        )
    return delivery
