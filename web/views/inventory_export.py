"""Inventory export: the inventory list's rows, with its filters and its order, as CSV or XLSX.

The same filter set and the same scoped queryset as the list page (``registry.views``), so the file holds
exactly the models the filtered list shows, across all its pages. Bad filter values are refused with the
list page's own messages (400), never exported as "everything".
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from registry import selectors
from registry.views import FILTERS_SHOWN, MODEL_SORTS, InventoryFilter
from reports.services import inventory_export as export


@login_required
@require_GET
def inventory_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in export.FORMATS:
        raise Http404("Export as csv or xlsx.")
    filterset = InventoryFilter(request.GET or None, queryset=selectors.model_list(user=request.user))
    if filterset.is_bound and not filterset.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
        return HttpResponse(f"Not exported: {problems}", status=400, content_type="text/plain; charset=utf-8")
    models = filterset.qs.order_by(*_order(request.GET.get("sort", "name")))
    filters = {name: request.GET[name] for name in (*FILTERS_SHOWN, "sort") if request.GET.get(name)}
    result = export.inventory_export(actor=request.user, models=models, fmt=fmt, filters=filters)
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["X-Row-Count"] = str(result.rows)
    return response


def _order(sort: str) -> tuple[str, str]:
    """The list page's order (``config.ui.paginate``): a whitelisted key, ``-key`` descending, then pk."""
    key = sort.removeprefix("-")
    if key not in MODEL_SORTS:
        return ("name", "pk")
    return (f"-{MODEL_SORTS[key]}" if sort.startswith("-") else MODEL_SORTS[key], "pk")
