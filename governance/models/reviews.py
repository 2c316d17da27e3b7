"""Periodic review bookkeeping: which overdue review has already been announced."""

from __future__ import annotations

from django.db import models


class ReviewNotice(models.Model):
    """One per model and missed due date, so the daily job announces an overdue review exactly once."""

    model = models.ForeignKey(
        "registry.RegisteredModel", on_delete=models.CASCADE, related_name="review_notices"
    )
    due_date = models.DateField()
    notified_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-notified_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "due_date"], name="governance_review_notice_once")
        ]

    def __str__(self) -> str:
        return f"review of {self.model_id} due {self.due_date}"
