"""Small helpers shared by the server-rendered pages of every app.

Pages read through the same selectors as the API, so a page shows exactly what the API would; these
helpers only add the browser conveniences: pagination, whitelisted sorting, the query string kept
across page links, and a service's refusal shown on the form that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from config.api.errors import ServiceError

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200


@dataclass
class Listing:
    """One page of a list, plus what the template needs to link to other pages and sort orders."""

    page: object
    paginator: Paginator
    sort: str
    query_without_page: str
    query_without_sort: str


def paginate(
    request: HttpRequest,
    queryset: QuerySet | list,
    *,
    sorts: dict[str, str] | None = None,
    default_sort: str = "",
) -> Listing:
    """Sort by ``?sort=<key>`` (only keys in ``sorts``; ``-key`` for descending) and cut a page."""
    sort = request.GET.get("sort", default_sort)
    if sorts and isinstance(queryset, QuerySet):
        key = sort.removeprefix("-")
        if key in sorts:
            order = sorts[key]
            queryset = queryset.order_by(f"-{order}" if sort.startswith("-") else order, "pk")
        else:
            sort = default_sort
    size = _page_size(request)
    paginator = Paginator(queryset, size)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    return Listing(
        page=page,
        paginator=paginator,
        sort=sort,
        query_without_page=_query_without(request, "page"),
        query_without_sort=_query_without(request, "sort", "page"),
    )


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return max(1, min(size, MAX_PAGE_SIZE))


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


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
