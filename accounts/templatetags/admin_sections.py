"""The admin index grouped by task: ``{% admin_sections app_list as sections %}``."""

from __future__ import annotations

from django import template
from django.contrib import admin

from accounts.admin_support import group_app_list

register = template.Library()


@register.simple_tag
def admin_sections(app_list: list[dict]) -> list[dict]:
    """Django's per-app list regrouped into the console's sections (``accounts.admin_support.SECTIONS``)."""
    return group_app_list(app_list or [], admin.site._registry)
