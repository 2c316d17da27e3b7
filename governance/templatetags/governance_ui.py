"""Template filters for the governance pages. Output is plain text: templates still escape it."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for a ``pre`` block (escaped by the template like any other text)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def short_hash(value: str, length: int = 12) -> str:
    """The first characters of a hex digest, for tables; the full value goes in a title or details."""
    return (value or "")[:length]
