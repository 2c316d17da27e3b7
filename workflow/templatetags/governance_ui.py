"""Template filters for the governance pages. Output is plain text: templates still escape it."""

from __future__ import annotations

import json
import math
from typing import Any

from django import template

from accounts import access
from registry.models import TierChangeStatus
from workflow.models import PeriodicReview

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for a ``pre`` block (escaped by the template like any other text)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def significant(value: Any, digits: int = 4) -> Any:
    """A float with ``digits`` significant digits, as the PDF and DOCX print it (0.8123, 1.24e-18);
    anything else as it is."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.{digits}g}"
    return value


@register.inclusion_tag("governance/reviews/_model_card.html", takes_context=True)
def model_second_line(context, model) -> dict[str, Any]:
    """The model page's second-line card: its periodic reviews and a pending tier change (registry's page
    shows it without importing the workflow)."""
    user = context["request"].user
    reviews = PeriodicReview.objects.filter(model=model).select_related("opened_by")
    has_open = any(review.status == "open" for review in reviews)
    return {
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
        "model": model,
        "reviews": list(reviews),
        "pending_tier_change": model.tier_changes.filter(status=TierChangeStatus.PENDING)
        .select_related("requested_by")
        .first(),
        "may_open_review": not has_open and access.may(user, "sign"),
        "may_decide_tier": access.may(user, "decide_tier"),
    }
