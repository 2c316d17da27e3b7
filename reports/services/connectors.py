"""GRC connectors: administrators configure where evidence is pushed, how, and when.

Every change is audited as ``connector.changed`` (with what changed, never a secret). A webhook
connector's signing secret is generated here (Standard Webhooks ``whsec_…``, the same format as
governance's webhooks); a ServiceNow connector's password is given by the administrator. Either is
returned once, by the call that sets it, and never again.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from governance import access
from governance.audit import record
from governance.services.notifications import new_secret
from reports.models import CONNECTOR_EVENTS, ConnectorKind, GrcConnector, Payload

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
    if not url.startswith(("https://", "http://")):
        raise ValidationError({"url": ["An http(s) URL."]})
    unknown = [event for event in events if event not in CONNECTOR_EVENTS]
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown event(s) {', '.join(unknown)}; known: {', '.join(CONNECTOR_EVENTS)}."]}
        )
    if payload not in Payload.values:
        raise ValidationError({"payload": [f"One of {', '.join(Payload.values)}."]})
    if kind == ConnectorKind.SERVICENOW and not username:
        raise ValidationError({"username": ["A ServiceNow connector needs the integration user's name."]})
