"""The main navigation, declared once: each link and who may open it.

A link is shown only to people whose roles let them open its page, so the menu never leads to a 403
("Audit log" for the roles that ``access.may`` audit, "Admin" for administrators with console
access). ``navigation`` is a template context processor; ``templates/base.html`` draws ``nav_links``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from accounts import access
from workflow import selectors


def _everyone(user) -> bool:
    return True


def _auditors(user) -> bool:
    return access.may(user, "audit")


def _console(user) -> bool:
    """The admin console opens for active staff (Django's rule); only administrators are sent there."""
    return user.is_staff and access.may(user, "administer")


@dataclass(frozen=True)
class Link:
    label: str
    url_name: str
    may_open: Callable = _everyone
    exact: bool = False  # current only on the page itself (the dashboard is "/", a prefix of everything)


LINKS = (
    Link("Dashboard", "dashboard", exact=True),
    Link("Portfolio", "portfolio"),
    Link("Inventory", "model-list"),
    Link("Datasets", "dataset-list"),
    Link("Approvals", "approval-list"),
    Link("Findings", "finding-list"),
    Link("Checks", "check-list"),
    Link("Monitoring", "monitoring-alert-list"),  # the alert inbox; its plans are under it
    Link("Reports", "report-list"),
    Link("Audit log", "audit-log", _auditors),
    Link("API", "api-docs"),
    Link("Admin", "admin:index", _console),
)


def nav_links(request: HttpRequest) -> list[dict]:
    """The links ``request.user`` may open, each marked ``current`` when it is the page being shown."""
    user = getattr(request, "user", None)
    if user is None or not access.is_active_user(user):
        return []
    links = []
    for link in LINKS:
        if not link.may_open(user):
            continue
        url = reverse(link.url_name)
        current = request.path == url if link.exact else request.path.startswith(url)
        links.append({"label": link.label, "url": url, "current": current})
    return links


def unread_notifications(request: HttpRequest) -> int:
    """How many of the signed-in user's notifications are unread (the inbox badge)."""
    user = getattr(request, "user", None)
    if user is None or not access.is_active_user(user):
        return 0
    return selectors.notification_list(user=user).filter(read_at__isnull=True).count()


def navigation(request: HttpRequest) -> dict:
    """Template context processor: ``nav_links`` and ``unread_notifications`` for the signed-in user
    (each computed when first used)."""
    return {
        "nav_links": lambda: nav_links(request),
        "unread_notifications": lambda: unread_notifications(request),
    }
