"""The inbox: your own notifications, newest first; mark one or all read (``workflow.services.inbox``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from config.ui import page, paginate
from workflow import selectors
from workflow.services import inbox

SHOWS = {"unread": "Unread", "all": "All"}


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show") if request.GET.get("show") in SHOWS else "unread"
    notifications = selectors.notification_list(user=request.user)
    unread = notifications.filter(read_at__isnull=True)
    listing = paginate(request, unread if show == "unread" else notifications)
    context = {"listing": listing, "show": show, "shows": SHOWS, "unread_total": unread.count()}
    return page(request, "governance/notifications/list.html", context)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of your notifications read, then go where it points (``open``) or back to the inbox."""
    notification = get_object_or_404(selectors.notification_list(user=request.user), pk=pk)
    inbox.notifications_mark_read(actor=request.user, ids=[notification.pk])
    target = notification.link
    if request.POST.get("open") and target and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect(_back(request))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = inbox.notifications_mark_read(actor=request.user)
    messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect("notification-list")


def _back(request: HttpRequest) -> str:
    show = request.POST.get("show")
    return "/notifications/" + (f"?show={show}" if show in SHOWS else "")
