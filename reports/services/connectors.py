"""GRC connectors: administrators configure where evidence is pushed, how, and when.

Every change is audited as ``connector.changed`` (with what changed, never a secret). A webhook
connector's signing secret is generated here (Standard Webhooks ``whsec_…``, the same format as
governance's webhooks); a ServiceNow connector's password is given by the administrator. Either is
returned once, by the call that sets it, and never again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from accounts import access
from audit import record
from reports.models import CONNECTOR_EVENTS, ConnectorKind, GrcConnector, GrcDelivery, Payload
from reports.services import deliveries
from workflow.services import notifications
from workflow.services.notifications import new_secret

EDITABLE = ("url", "events", "payload", "is_active", "username")


def connector_create(
    *,
    actor,
    name: str,
    kind: str,
    url: str,
    events: list[str],
    payload: str = Payload.BUNDLE,
    username: str = "",
    password: str = "",
) -> GrcConnector:
    """Create a connector; ``connector.secret`` holds the secret to show once (webhook: generated)."""
    access.require(actor, "administer")
    _check(kind=kind, url=url, events=events, payload=payload, username=username)
    secret = new_secret() if kind == ConnectorKind.WEBHOOK else password
    if kind == ConnectorKind.SERVICENOW and not password:
        raise ValidationError({"password": ["A ServiceNow connector needs the integration user's password."]})
    if GrcConnector.objects.filter(name=name).exists():
        raise ValidationError({"name": [f"A connector named {name!r} exists."]})
    with transaction.atomic():
        connector = GrcConnector.objects.create(
            name=name,
            kind=kind,
            url=url,
            events=events,
            payload=payload,
            username=username,
            secret=secret,
            created_by=actor,
        )
        record(
            action="connector.changed",
            actor=actor,
            obj=connector,
            after={"created": True, **facts(connector)},
        )
    return connector


def connector_update(
    *, actor, connector: GrcConnector, password: str = "", rotate_secret: bool = False, **changes: Any
) -> GrcConnector:
    """Change a connector's fields; ``password`` replaces a ServiceNow password, ``rotate_secret``
    generates a new webhook secret (left on ``connector.secret`` to show once)."""
    access.require(actor, "administer")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    merged = {field: changes.get(field, getattr(connector, field)) for field in EDITABLE}
    _check(kind=connector.kind, **{k: merged[k] for k in ("url", "events", "payload", "username")})
    with transaction.atomic():
        before = facts(connector)
        for field, value in changes.items():
            setattr(connector, field, value)
        secret_changed = False
        if connector.kind == ConnectorKind.WEBHOOK and rotate_secret:
            connector.secret, secret_changed = new_secret(), True
        elif connector.kind == ConnectorKind.SERVICENOW and password:
            connector.secret, secret_changed = password, True
        connector.save()
        after = {**facts(connector), "secret_changed": secret_changed}
        record(action="connector.changed", actor=actor, obj=connector, before=before, after=after)
    return connector


def facts(connector: GrcConnector) -> dict[str, Any]:
    """What the audit log says about a connector (no secret)."""
    return {
        "name": connector.name,
        "kind": connector.kind,
        "url": connector.url,
        "username": connector.username,
        "events": connector.events,
        "payload": connector.payload,
        "active": connector.is_active,
    }


def _check(*, kind: str, url: str, events: list[str], payload: str, username: str) -> None:
    if kind not in ConnectorKind.values:
        raise ValidationError({"kind": [f"One of {', '.join(ConnectorKind.values)}."]})
    notifications.check_outbound_url(url)
    unknown = [event for event in events if event not in CONNECTOR_EVENTS]
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown event(s) {', '.join(unknown)}; known: {', '.join(CONNECTOR_EVENTS)}."]}
        )
    if payload not in Payload.values:
        raise ValidationError({"payload": [f"One of {', '.join(Payload.values)}."]})
    if kind == ConnectorKind.SERVICENOW and not username:
        raise ValidationError({"username": ["A ServiceNow connector needs the integration user's name."]})


# --- test events ---------------------------------------------------------------------------------------
# A test checks the connection the way a real push is made: a webhook connector gets a signed
# ``connector.test`` message (Standard Webhooks, the connector's secret, no document); a ServiceNow-style
# connector a small text file pushed like an evidence file (``deliveries.send``), since attaching a file is
# the only thing that endpoint does. Tests are not delivery-log entries and never retried; each is audited.

TEST_EVENT = "connector.test"
TEST_FILE = "attest-connection-test.txt"


@dataclass(frozen=True)
class TestDelivery:
    """What a test event's receiver answered."""

    message_id: str
    status_code: int | None
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def connector_send_test(*, actor, connector: GrcConnector) -> TestDelivery:
    """Send one test event to ``connector`` now, signed or authenticated as its real pushes are."""
    access.require(actor, "administer")
    message_id = f"msg_{uuid.uuid4().hex}"
    if connector.kind == ConnectorKind.WEBHOOK:
        status_code, error = _send_signed_test(connector, message_id, actor)
    else:
        content = f"A connection test from Attest, sent by {actor.username}; it is not evidence.\n".encode()
        document = deliveries.Document(
            "test", 0, TEST_FILE, "text/plain", content, hashlib.sha256(content).hexdigest()
        )
        delivery = GrcDelivery(connector=connector, trigger="on_demand", message_id=message_id)
        status_code, error = deliveries.send(delivery, document)
    with transaction.atomic():
        record(
            action="connector.tested",
            actor=actor,
            obj=connector,
            after={"message_id": message_id, "status_code": status_code, "error": error[:500]},
        )
    return TestDelivery(message_id, status_code, error)


def _send_signed_test(connector: GrcConnector, message_id: str, actor) -> tuple[int | None, str]:
    now = timezone.now()
    data = {
        "connector": connector.name,
        "message": "A test event from Attest; it carries no document.",
        "sent_by": actor.username,
    }
    body = json.dumps(
        {"type": TEST_EVENT, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )
    headers = {
        "content-type": "application/json",
        "user-agent": deliveries.USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(connector.secret).sign(message_id, now, body),
    }
    return notifications.http_post(connector.url, body.encode(), headers)
