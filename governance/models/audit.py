"""The append-only, hash-chained audit log and its signed checkpoints.

Rows are written only by ``governance.audit.record`` and never changed: database triggers refuse
UPDATE, DELETE and TRUNCATE (see the migration). ``canonical`` holds the exact RFC 8785 bytes that were
hashed, so a verifier can recompute the chain without trusting any other column, and can then check
that the other columns still say what the hashed bytes say.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One state change or security event. ``seq`` is gapless: 1, 2, 3, … in commit order."""

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
    actor_roles = models.JSONField(default=list)
    auth_method = models.CharField(max_length=16)
    request_id = models.CharField(max_length=128, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    schema_version = models.PositiveSmallIntegerField()
    canonical = models.BinaryField(help_text="The RFC 8785 bytes that were hashed.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx"),
            models.Index(fields=["actor_pk", "seq"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditCheckpoint(models.Model):
    """An Ed25519 signature over (number, time, last seq, chain head, previous signature).

    The private key lives outside the database; each checkpoint is also appended to an export
    file, so rewriting the table and this model together is still detected.
    """

    number = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    last_seq = models.BigIntegerField()
    chain_head = models.CharField(max_length=64)
    previous_signature = models.CharField(max_length=128, blank=True)
    key_id = models.CharField(max_length=64, help_text="SHA-256 of the raw public key, hex.")
    payload = models.BinaryField(help_text="The RFC 8785 bytes that were signed.")
    signature = models.CharField(max_length=128, help_text="Ed25519 signature, hex.")

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"checkpoint {self.number} at seq {self.last_seq}"
