"""Helpers shared by the governance pages: showing a service's refusal on the form that caused it."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from config.api.errors import ServiceError


def add_refusal(form: forms.Form, refusal: ValidationError | ServiceError) -> None:
    """Put a service's refusal on ``form``: errors for known fields on their inputs, the rest above it."""
    if isinstance(refusal, ServiceError):
        for field, errors in refusal.fields.items():
            if field in form.fields:
                form.add_error(field, errors)
        form.add_error(None, refusal.message)
        return
    if not hasattr(refusal, "error_dict"):
        form.add_error(None, refusal.messages)
        return
    for field, errors in refusal.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """Render a page (a TemplateResponse, so tests can read ``response.context``)."""
    return TemplateResponse(request, template, context, status=status)
