"""The columns every durable job carries; each job model inherits them (no table of its own here)."""

from __future__ import annotations

from django.db import models


class LeasedJob(models.Model):
    """A row that one worker at a time may hold, with a lease it must keep renewing.

    ``claim_token`` names the current holder (empty: nobody); every write a worker makes while it holds
    the job is conditional on it, so a worker whose lease expired and was taken over writes nothing.
    ``attempts`` counts claims (and delivery attempts); ``next_attempt_at`` is when a job waiting for a
    retry is due (and, for a queued job, when its task was last sent).
    """

    claim_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    LEASE_FIELDS = ("claim_token", "lease_expires_at", "attempts", "next_attempt_at")

    class Meta:
        abstract = True
