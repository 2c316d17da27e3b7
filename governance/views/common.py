"""Helpers shared by the governance pages (the refusal-on-a-form helper is ``config.ui.add_refusal``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """Render a page (a TemplateResponse, so tests can read ``response.context``)."""
    return TemplateResponse(request, template, context, status=status)
