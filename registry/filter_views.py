"""Saved inventory filters: save the list's current filters under a name, delete one after confirming.

A saved filter is its owner's alone: the selector returns only the user's own, so another person's filter
is a 404 (its existence does not leak), and the service checks the owner again.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from registry import selectors
from registry.services import saved_filters


def _inventory(query: str) -> str:
    return reverse("model-list") + (f"?{query}" if query else "")


@login_required
@require_POST
def saved_filter_create(request: HttpRequest) -> HttpResponse:
    query = saved_filters.clean_query(request.POST.get("query", ""))
    try:
        saved = saved_filters.saved_filter_create(
            actor=request.user, name=request.POST.get("name", ""), query=query
        )
    except ValidationError as error:
        problems = [message for messages_ in error.message_dict.values() for message in messages_]
        messages.error(request, "Not saved: " + " ".join(problems))
        return redirect(_inventory(query))
    messages.success(request, f"Saved the filter “{saved.name}”; it is listed under Saved filters.")
    return redirect(_inventory(saved.query))


@login_required
@require_http_methods(["GET", "POST"])
def saved_filter_delete(request: HttpRequest, pk: int) -> HttpResponse:
    saved = get_object_or_404(selectors.saved_filter_list(user=request.user), pk=pk)
    if request.method == "POST":
        saved_filters.saved_filter_delete(actor=request.user, saved_filter=saved)
        messages.success(request, f"Deleted the saved filter “{saved.name}”.")
        return redirect("model-list")
    return render(
        request, "registry/saved_filter_delete.html", {"saved": saved, "url": _inventory(saved.query)}
    )


def saved_filter_links(user) -> list[dict]:
    """The user's saved filters for the inventory page: name, link, delete link."""
    return [
        {
            "name": saved.name,
            "url": _inventory(saved.query),
            "delete_url": reverse("saved-filter-delete", args=[saved.pk]),
            "query": saved.query,
        }
        for saved in selectors.saved_filter_list(user=user)
    ]


def current_query(request: HttpRequest) -> str:
    """The list's current filters and order as a saved filter would keep them."""
    return saved_filters.clean_query(urlencode(list(request.GET.lists()), doseq=True))
