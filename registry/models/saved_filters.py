"""Saved filters: a person's named inventory filters, seen and used only by that person."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedFilter(models.Model):
    """The inventory list's query string under a name the owner chose (``tier=1&status=in_production``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=1000, blank=True, help_text="The list page's filters, URL-encoded.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="registry_saved_filter_name_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"
