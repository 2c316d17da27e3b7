"""The append-only, hash-chained audit log, its signed checkpoints and verification jobs.

Rows are written only by ``audit.record`` and never changed: database triggers refuse
UPDATE, DELETE and TRUNCATE (governance migration 0004). ``canonical`` holds the exact RFC 8785 bytes that were
hashed, so a verifier can recompute the chain without trusting any other column, and can then check
that the other columns still say what the hashed bytes say (``audit.verifier``).
"""

from __future__ import annotations

import rfc8785
from django.conf import settings
from django.db import models

from jobs.models import LeasedJob


class CanonicalJSONField(models.JSONField):
    """JSON kept verbatim as its RFC 8785 text in a PostgreSQL ``json`` (not ``jsonb``) column.

    ``jsonb`` re-orders keys and re-spaces the text; ``json`` keeps the bytes it was given. Storing
    the canonical text lets the verifier prove in SQL, by concatenation rather than by parsing, that
    the columns spell out exactly the bytes that were hashed. Values must already be free of floats
    (``audit.chain.jsonable``). Key lookups (``after__name``) work on ``json``; containment
    (``__contains``) is jsonb-only: cast in SQL when a query needs it.
    """

    def db_type(self, connection) -> str:
        return "json"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        return rfc8785.dumps(value).decode()

    def from_db_value(self, value, expression, connection):
        # psycopg2 already decodes ``json`` columns (Django only turns that off for ``jsonb``), so a str
        # here is a JSON string value such as ``after="text"``: decoding it again would corrupt or fail.
        return value


# These models were born in the ``governance`` app and moved to ``audit`` without touching the database:
# their tables keep their names (the append-only triggers of governance migration 0004, raw SQL in the
# verifier and ``audit.protection``), and events about them keep the object type they were recorded
# with (``audit.recorder.object_type``), since exports, the API and the hashed bytes carry it.


class AuditEvent(models.Model):
    """One state change or security event. ``seq`` is gapless: 1, 2, 3, … in commit order."""

    AUDIT_OBJECT_TYPE = "governance.auditevent"

    seq = models.BigIntegerField(primary_key=True)
    event_id = models.UUIDField(unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True, help_text="Database clock, UTC.")
    # SET_NULL keeps the event when a user is deleted; the hashed snapshot below keeps its meaning.
    # The append-only trigger lets exactly this one update through (actor_id to NULL, nothing else).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_pk = models.BigIntegerField(null=True, blank=True, help_text="Snapshot of the actor's id.")
    actor_username = models.CharField(max_length=150, blank=True)
    actor_roles = CanonicalJSONField(default=list)
    auth_method = models.CharField(max_length=16)
    request_id = models.CharField(max_length=128, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = CanonicalJSONField(null=True, blank=True)
    after = CanonicalJSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    schema_version = models.PositiveSmallIntegerField()
    canonical = models.BinaryField(help_text="The RFC 8785 bytes that were hashed.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "governance_auditevent"
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx"),
            models.Index(fields=["actor_pk", "seq"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditCheckpoint(models.Model):
    """An Ed25519 signature over (number, time, last seq, chain head, previous signature, key id).

    Guarantees: numbers are gapless; each checkpoint signs its predecessor's signature, so the
    checkpoints form their own chain; the private key lives outside the database; each checkpoint
    is also exported as a JSON line, so rewriting the table and this model together is detected.
    Append-only like the events (same triggers).
    """

    AUDIT_OBJECT_TYPE = "governance.auditcheckpoint"

    number = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    last_seq = models.BigIntegerField()
    chain_head = models.CharField(max_length=64)
    previous_signature = models.CharField(max_length=128, blank=True)
    key_id = models.CharField(max_length=64, help_text="SHA-256 of the raw public key, hex.")
    payload = models.BinaryField(help_text="The RFC 8785 bytes that were signed.")
    signature = models.CharField(max_length=128, help_text="Ed25519 signature, hex.")

    class Meta:
        db_table = "governance_auditcheckpoint"
        ordering = ["number"]

    def __str__(self) -> str:
        return f"checkpoint {self.number} at seq {self.last_seq}"


class AuditVerification(LeasedJob):
    """A background run of the chain verifier, requested through the API.

    ``status`` is the job's life cycle; ``intact`` is the verdict once it has succeeded (``result``
    holds the report: events and checkpoints checked, the first bad seq and every problem found).
    Progress is written from a second connection while the walk runs, so a poll sees it move. A durable
    job (``jobs``): claimed with a lease, queued again or failed by the job reaper if its worker dies.
    """

    AUDIT_OBJECT_TYPE = "governance.auditverification"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    from_seq = models.BigIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_username = models.CharField(max_length=150, blank=True)
    progress_current = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    intact = models.BooleanField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "governance_auditverification"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"verification {self.pk} ({self.status})"
