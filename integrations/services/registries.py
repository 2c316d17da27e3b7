"""Connecting an MLflow tracking server, and the webhook deliveries it sends (HMAC-verified)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import access
from accounts.models import Team, User
from audit import record
from config import outbound
from integrations.models import MlflowDelivery, MlflowRegistry, MlflowSync
from integrations.services import mlflow_sync

# MLflow's webhook deliveries (mlflow/webhooks/delivery.py, MLflow 3.3+): HMAC-SHA256 over
# "<delivery id>.<unix timestamp>.<body>", base64, sent as "v1,<signature>".
SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 300  # a delivery older (or newer) than this is refused: a replay, or a skewed clock
MODEL_ENTITIES = {"registered_model", "model_version", "model_version_tag", "model_version_alias"}
MAX_MODEL_NAMES = 500


def registry_create(
    *,
    actor: User,
    name: str,
    tracking_uri: str,
    team: Team,
    run_as: User | None = None,
    model_names: list[str] = (),
    poll_minutes: int = 15,
    write_back: bool = True,
) -> MlflowRegistry:
    """Connect a tracking server for ``team``; the webhook secret is generated here (shown once to whoever
    creates the MLflow webhook). ``run_as`` (default: the actor) must be allowed to change the team's models."""
    access.require(actor, "change", team)
    run_as = run_as or actor
    if not access.can(run_as, "change", team):
        raise ValidationError({"run_as": [f"{run_as.get_username()} may not change {team.name}'s models."]})
    _check_tracking_uri(tracking_uri)
    names = _model_names(model_names)
    registry = MlflowRegistry(
        name=name,
        tracking_uri=normalised_uri(tracking_uri),
        team=team,
        run_as=run_as,
        model_names=names,
        secret=secrets.token_urlsafe(32),
        poll_minutes=poll_minutes,
        write_back=write_back,
        created_by=actor,
    )
    registry.full_clean(exclude=["team", "run_as", "created_by"])
    try:
        with transaction.atomic():
            registry.save()
            record(
                action="mlflow_registry.created", actor=actor, obj=registry, after=registry_facts(registry)
            )
    except IntegrityError:
        raise ValidationError({"name": ["An MLflow registry of this name is already connected."]}) from None
    return registry


def normalised_uri(url: str) -> str:
    """One spelling per server, so a lookup by URI finds it: scheme and host in lower case, no default port,
    no trailing slash (``HTTPS://MLflow.example.com:443/`` → ``https://mlflow.example.com``)."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        return url.strip().rstrip("/")
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, outbound.SCHEMES.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, "")).rstrip("/")


def _check_tracking_uri(url: str) -> None:
    try:
        outbound.check_url(url)
    except outbound.InvalidUrl as exc:
        raise ValidationError({"tracking_uri": [f"Expected {exc}."]}) from None
    except outbound.Refused:
        raise ValidationError(
            {
                "tracking_uri": [
                    "This address is not allowed (see ATTEST_OUTBOUND_ALLOW_HOSTS for on-premises hosts)."
                ]
            }
        ) from None


def _model_names(raw: Any) -> list[str]:
    names = list(raw or [])
    if len(names) > MAX_MODEL_NAMES or not all(isinstance(n, str) and 0 < len(n) <= 256 for n in names):
        raise ValidationError(
            {"model_names": [f"At most {MAX_MODEL_NAMES} MLflow model names of 1 to 256 characters."]}
        )
    return sorted(set(names))


def registry_facts(registry: MlflowRegistry) -> dict[str, Any]:
    return {
        "name": registry.name,
        "tracking_uri": registry.tracking_uri,
        "team": registry.team.name,
        "run_as": registry.run_as.get_username(),
        "model_names": registry.model_names,
        "poll_minutes": registry.poll_minutes,
        "write_back": registry.write_back,
    }


# --- webhooks ---------------------------------------------------------------------------------------------


class DeliveryRefused(Exception):
    """A delivery that is not MLflow's for this registry, or a stale one; the text says why (to the log)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # "queued", "coalesced", "duplicate", "ignored"
    sync: MlflowSync | None = None


def signature_of(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verify_delivery(
    registry: MlflowRegistry, headers: dict[str, str], body: bytes, *, now: float | None = None
) -> dict:
    """The delivery's JSON once its signature and timestamp are checked; DeliveryRefused otherwise."""
    delivery_id, timestamp = headers.get(DELIVERY_HEADER, ""), headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (delivery_id and timestamp and signature):
        raise DeliveryRefused(
            "the delivery is not signed (no X-MLflow-Signature, -Timestamp or -Delivery-Id)"
        )
    try:
        text = body.decode("utf-8")
        sent_at = int(timestamp)
    except (UnicodeDecodeError, ValueError):
        raise DeliveryRefused("the delivery's body or timestamp is malformed") from None
    if abs((now if now is not None else time.time()) - sent_at) > TOLERANCE_SECONDS:
        raise DeliveryRefused(f"the delivery's timestamp is more than {TOLERANCE_SECONDS} s from now")
    expected = signature_of(registry.secret, delivery_id, timestamp, text)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise DeliveryRefused("the signature does not match this registry's secret")
    try:
        payload = json.loads(text)
    except ValueError:
        raise DeliveryRefused("the delivery is not JSON") from None
    if not isinstance(payload, dict):
        raise DeliveryRefused("the delivery is not a JSON object")
    return payload


def delivery_receive(*, registry: MlflowRegistry, delivery_id: str, payload: dict) -> DeliveryOutcome:
    """A verified delivery: recorded once by its id, then a sync of the model it concerns (queued as the
    registry's ``run_as``). Tag events on Attest's own ``attest.*`` tags are Attest's write-back echoing."""
    entity, action = str(payload.get("entity", "")), str(payload.get("action", ""))
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    model_name = str(data.get("name", ""))[:256]
    with transaction.atomic():
        try:
            with transaction.atomic():
                MlflowDelivery.objects.create(
                    registry=registry,
                    delivery_id=delivery_id[:64],
                    event=f"{entity}.{action}"[:64],
                    model_name=model_name,
                )
        except IntegrityError:
            return DeliveryOutcome("duplicate")
        if entity not in MODEL_ENTITIES or not model_name or _own_tag(entity, data):
            return DeliveryOutcome("ignored")
        if registry.model_names and model_name not in registry.model_names:
            return DeliveryOutcome("ignored")
        sync, created = mlflow_sync.sync_request(
            actor=registry.run_as,
            registry=registry,
            model_name=model_name,
            trigger=MlflowSync.Trigger.WEBHOOK,
        )
    return DeliveryOutcome("queued" if created else "coalesced", sync)


def _own_tag(entity: str, data: dict) -> bool:
    return entity == "model_version_tag" and str(data.get("key", "")).startswith(
        mlflow_sync.ATTEST_TAG_PREFIX
    )


def polls_due(*, now=None) -> list[MlflowSync]:
    """Queue a poll of each registry whose interval has passed (beat calls this every minute)."""
    now = now or timezone.now()
    queued = []
    for registry in MlflowRegistry.objects.filter(poll_minutes__gt=0).select_related("run_as"):
        last = registry.last_synced_at
        if last is not None and (now - last).total_seconds() < registry.poll_minutes * 60:
            continue
        if MlflowSync.objects.filter(registry=registry, status__in=["queued", "running"]).exists():
            continue
        sync, _ = mlflow_sync.sync_request(
            actor=registry.run_as, registry=registry, trigger=MlflowSync.Trigger.POLL
        )
        queued.append(sync)
    return queued
