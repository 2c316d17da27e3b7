"""SIEM destinations (administrators) and the forwarder that sends each one the audit trail in seq order.

The position (``SiemDestination.last_seq_sent``) advances only after the receiver acknowledged a batch
(``integrations.siem.transport``), in the transaction that holds the destination's row lock while the
batch is sent (``select_for_update(skip_locked=True)``): two workers never send a destination the same
batch, and a worker that dies between the acknowledgement and the commit leaves the position where it was,
so that one batch is sent again. Delivery is at-least-once; the duplicates are at most one batch, and
the receiver's verifier de-duplicates by seq.

Forwarding writes no audit event (each batch would add events to forward, for ever): failures are kept on
the row (``attempts``, ``last_error``, ``next_attempt_at``: exponential backoff) and logged. Creating and
changing a destination are audited (``siem.destination_created``, ``siem.destination_changed``).
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from importlib import metadata
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import access
from audit import record
from audit.models import AuditEvent
from config import outbound
from integrations.models import SiemDestination
from integrations.siem import formats, transport

logger = logging.getLogger(__name__)

Kind = SiemDestination.Kind
EDITABLE = ("host", "port", "url", "token", "ca_bundle", "format", "enabled", "batch_size")
OTLP_PATH = "/v1/logs"
HEC_PATH = "/services/collector/event"
BACKOFF_SECONDS = 2
BACKOFF_MAX_SECONDS = 300
MAX_ERROR = 500


# --- destinations ---------------------------------------------------------------------------------------


def destination_create(*, actor, name: str, kind: str, **fields: Any) -> SiemDestination:
    """A new destination; it starts at the beginning of the trail (seq 1), so the SIEM holds the whole chain."""
    access.require(actor, "administer")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError({field: ["Unknown field."] for field in sorted(unknown)})
    destination = SiemDestination(name=name, kind=kind, created_by=actor, **fields)
    check(destination)
    if SiemDestination.objects.filter(name=name).exists():
        raise ValidationError({"name": [f"A SIEM destination named {name!r} exists."]})
    with transaction.atomic():
        destination.save()
        record(action="siem.destination_created", actor=actor, obj=destination, after=facts(destination))
    return destination


def destination_update(*, actor, destination: SiemDestination, **changes: Any) -> SiemDestination:
    """Change a destination's settings; an empty ``token`` keeps the stored one."""
    access.require(actor, "administer")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({field: ["This field cannot be changed."] for field in sorted(unknown)})
    if not changes.get("token", "x"):
        changes.pop("token")
    with transaction.atomic():
        locked = SiemDestination.objects.select_for_update().get(pk=destination.pk)
        before = facts(locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        check(locked)
        if changes.get("enabled") or {"host", "port", "url", "token", "ca_bundle"} & set(changes):
            locked.next_attempt_at = None  # a fixed destination is tried at once
        locked.save()
        after = {**facts(locked), "token_changed": "token" in changes}
        record(action="siem.destination_changed", actor=actor, obj=locked, before=before, after=after)
    return locked


def facts(destination: SiemDestination) -> dict[str, Any]:
    """What the audit log says about a destination (never its token)."""
    return {
        "name": destination.name,
        "kind": destination.kind,
        "host": destination.host,
        "port": destination.port,
        "url": destination.url,
        "format": destination.format,
        "ca_bundle": bool(destination.ca_bundle),
        "enabled": destination.enabled,
        "batch_size": destination.batch_size,
    }


def check(destination: SiemDestination) -> None:
    """Raise a ValidationError naming the field that is wrong."""
    if destination.kind not in Kind.values:
        raise ValidationError({"kind": [f"One of {', '.join(Kind.values)}."]})
    if destination.format not in SiemDestination.Format.values:
        raise ValidationError({"format": [f"One of {', '.join(SiemDestination.Format.values)}."]})
    if not 1 <= (destination.batch_size or 0) <= 1000:
        raise ValidationError({"batch_size": ["Between 1 and 1000."]})
    if destination.kind in SiemDestination.SYSLOG_KINDS:
        _check_syslog(destination)
    else:
        _check_http(destination)


def _check_syslog(destination: SiemDestination) -> None:
    if destination.url:
        raise ValidationError({"url": ["Syslog destinations take a host and port, not a URL."]})
    if not destination.host:
        raise ValidationError({"host": ["The syslog receiver's host name or address."]})
    if not destination.port or not 1 <= destination.port <= 65535:
        raise ValidationError(
            {"port": ["A port between 1 and 65535 (syslog over TCP: 601, over TLS: 6514)."]}
        )
    if destination.token:
        raise ValidationError({"token": ["Syslog has no token."]})
    try:
        transport.check_host(destination.host, destination.port)
    except outbound.InvalidUrl:
        raise ValidationError({"host": ["A host name or an IP address."]}) from None
    except outbound.Refused:
        raise ValidationError({"host": [_NOT_PUBLIC]}) from None
    except OSError:
        pass  # does not resolve now: checked again at every send
    if destination.kind == Kind.SYSLOG:
        if destination.ca_bundle:
            raise ValidationError({"ca_bundle": ["Only syslog over TLS takes a CA bundle."]})
        return
    try:
        transport.tls_context(destination.ca_bundle)
    except (ssl.SSLError, ValueError):
        raise ValidationError({"ca_bundle": ["Not PEM-encoded CA certificates."]}) from None


def _check_http(destination: SiemDestination) -> None:
    if destination.host or destination.port:
        raise ValidationError({"host": ["OTLP and HEC destinations take a URL, not a host and port."]})
    if destination.ca_bundle:
        raise ValidationError({"ca_bundle": ["Only syslog over TLS takes a CA bundle."]})
    if destination.kind == Kind.SPLUNK_HEC and not destination.token:
        raise ValidationError({"token": ["Splunk HEC needs the collector's token."]})
    if any(char in destination.token for char in "\r\n"):
        raise ValidationError({"token": ["A token is one line."]})
    try:
        outbound.check_url(destination.url)
    except outbound.InvalidUrl:
        raise ValidationError({"url": ["An http(s) URL with a host name or address."]}) from None
    except outbound.Refused:
        raise ValidationError({"url": [_NOT_PUBLIC]}) from None


_NOT_PUBLIC = (
    "This host is a loopback, private, link-local or otherwise non-public address; an administrator "
    "can allow it with ATTEST_OUTBOUND_ALLOW_HOSTS."
)


def endpoint(destination: SiemDestination) -> str:
    """The URL a batch is posted to: the collector's path added to a base URL that does not end with it."""
    path = OTLP_PATH if destination.kind == Kind.OTLP_HTTP else HEC_PATH
    url = destination.url.rstrip("/")
    return url if url.endswith(path) else url + path


# --- forwarding -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One destination's part of a run: events acknowledged, and why it stopped."""

    destination: str
    sent: int
    status: str  # caught_up, busy (another worker holds it), waiting (backoff), failed, time_up
    error: str = ""


def forward_all(*, name: str | None = None, max_seconds: float = 4.0) -> list[Outcome]:
    """Forward every enabled destination (or the one named) until caught up or ``max_seconds`` passed."""
    destinations = SiemDestination.objects.filter(enabled=True)
    if name is not None:
        destinations = destinations.filter(name=name)
    return [
        forward(pk, max_seconds=max_seconds)
        for pk in destinations.order_by("pk").values_list("pk", flat=True)
    ]


def forward(pk: int, *, max_seconds: float = 4.0, ignore_backoff: bool = False) -> Outcome:
    """Send batches to one destination until it has every event, a send fails, or time is up."""
    deadline = time.monotonic() + max_seconds
    sent, name = 0, str(pk)
    while True:
        step = _forward_batch(pk, ignore_backoff=ignore_backoff)
        name, sent = step.destination or name, sent + step.sent
        if step.status != "sent":
            return Outcome(name, sent, step.status, step.error)
        if time.monotonic() >= deadline:
            return Outcome(name, sent, "time_up")


def _forward_batch(pk: int, *, ignore_backoff: bool) -> Outcome:
    now = timezone.now()
    with transaction.atomic():
        due = Q() if ignore_backoff else Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        destination = (
            SiemDestination.objects.select_for_update(skip_locked=True)
            .filter(due, pk=pk, enabled=True)
            .first()
        )
        if destination is None:
            return Outcome("", 0, _why_not(pk))
        events = list(
            AuditEvent.objects.filter(seq__gt=destination.last_seq_sent).order_by("seq")[
                : destination.batch_size
            ]
        )
        if not events:
            return Outcome(destination.name, 0, "caught_up")
        try:
            send(destination, events)
        except transport.SendFailed as exc:
            _failed(destination, str(exc), now)
            return Outcome(destination.name, 0, "failed", str(exc))
        # acknowledged: the position moves in the transaction that held the lock while sending
        destination.last_seq_sent = events[-1].seq
        destination.last_sent_at = timezone.now()
        destination.attempts = 0
        destination.next_attempt_at = None
        destination.save(update_fields=["last_seq_sent", "last_sent_at", "attempts", "next_attempt_at"])
        return Outcome(destination.name, len(events), "sent")


def _why_not(pk: int) -> str:
    destination = SiemDestination.objects.filter(pk=pk).values("enabled", "next_attempt_at").first()
    if destination is None or not destination["enabled"]:
        return "disabled"
    waiting = destination["next_attempt_at"] and destination["next_attempt_at"] > timezone.now()
    return "waiting" if waiting else "busy"


def _failed(destination: SiemDestination, error: str, now) -> None:
    destination.attempts += 1
    destination.last_error = error[:MAX_ERROR]
    destination.last_error_at = now
    delay = min(BACKOFF_SECONDS * 2 ** (destination.attempts - 1), BACKOFF_MAX_SECONDS)
    destination.next_attempt_at = now + timedelta(seconds=delay)
    destination.save(update_fields=["attempts", "last_error", "last_error_at", "next_attempt_at"])
    logger.warning(
        "SIEM destination %s: batch after seq %s not delivered (attempt %s, next in %ss): %s",
        destination.name,
        destination.last_seq_sent,
        destination.attempts,
        delay,
        error,
    )


def send(destination: SiemDestination, events: list[AuditEvent]) -> None:
    """Send one batch; returns once the receiver acknowledged it, raises SendFailed otherwise."""
    hostname, version = _hostname(), _version()
    if destination.kind in SiemDestination.SYSLOG_KINDS:
        frames = [
            formats.syslog_frame(event, fmt=destination.format, hostname=hostname, version=version)
            for event in events
        ]
        tls = transport.tls_context(destination.ca_bundle) if destination.kind == Kind.SYSLOG_TLS else None
        transport.syslog_send(destination.host, destination.port, frames, tls=tls)
        return
    headers = {"content-type": "application/json", "user-agent": f"Attest/{version}"}
    if destination.kind == Kind.OTLP_HTTP:
        body = formats.otlp_body(events, hostname=hostname, version=version)
        if destination.token:
            headers["authorization"] = destination.token
    else:
        body = formats.hec_body(events, hostname=hostname)
        headers["authorization"] = f"Splunk {destination.token}"
    transport.http_post(endpoint(destination), body, headers)


def head_seq() -> int:
    """The seq of the latest audit event (0 when there is none)."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def lag(destination: SiemDestination) -> int:
    """Events recorded but not yet acknowledged by this destination."""
    return max(head_seq() - destination.last_seq_sent, 0)


def _hostname() -> str:
    return socket.gethostname()[:255].replace(" ", "-")


def _version() -> str:
    try:
        return metadata.version("attest")
    except metadata.PackageNotFoundError:
        return "0"
