"""Per-object grants: a user or a team may see, or work on, one registered model or dataset."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q


class GrantLevel(models.TextChoices):
    VIEW = "view", "View"
    CHANGE = "change", "Change"


class Grant(models.Model):
    """One user or team (the subject) granted ``view`` or ``change`` on one registered model or dataset.

    Guarantees: exactly one subject and exactly one object (database constraints); at most one grant per
    subject and object, whatever its level; a grant is never edited (a database trigger refuses UPDATE):
    to change its level, revoke it and grant again, so each step has its own audit event. This table is
    the only record of grants on models and datasets: ``accounts.access`` reads it, and a grant covers
    everything that belongs to its object (see ``access.GRANT_LEVELS``). Written only by
    ``accounts.services.grants``.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    team = models.ForeignKey(
        "governance.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    model = models.ForeignKey(
        "registry.RegisteredModel", null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    dataset = models.ForeignKey(
        "registry.Dataset", null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    level = models.CharField(max_length=10, choices=GrantLevel.choices)
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    SUBJECT_FIELDS = ("user", "team")
    OBJECT_FIELDS = ("model", "dataset")

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False),
                name="governance_grant_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(model__isnull=False, dataset__isnull=True)
                | Q(model__isnull=True, dataset__isnull=False),
                name="governance_grant_one_object",
            ),
            models.UniqueConstraint(
                fields=["user", "team", "model", "dataset"],
                nulls_distinct=False,
                name="governance_grant_once",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="governance_grant_immutable", operation=pgtrigger.Update),
        ]

    def __str__(self) -> str:
        return f"{self.level} on {self.object_label} for {self.subject_label}"

    @property
    def subject(self):
        return self.user if self.user_id is not None else self.team

    @property
    def object(self):
        return self.model if self.model_id is not None else self.dataset

    @property
    def subject_label(self) -> str:
        return f"user {self.user}" if self.user_id is not None else f"team {self.team}"

    @property
    def object_label(self) -> str:
        return f"model {self.model}" if self.model_id is not None else f"dataset {self.dataset}"

    @classmethod
    def object_field_for(cls, model_class: type[models.Model]) -> str | None:
        """The field that holds a grant on ``model_class`` (``"model"``, ``"dataset"``), or None."""
        for name in cls.OBJECT_FIELDS:
            if cls._meta.get_field(name).related_model is model_class:
                return name
        return None
