"""``GET /api/v1/exports/inventory.csv`` and ``…/inventory.xlsx``: the inventory as a spreadsheet.

The same filters, search and ordering as ``GET /api/v1/models/`` (team, owner, tier, status,
eu_ai_act_category, is_third_party, tag, review_overdue, search, ordering), over the same permission-scoped
queryset, without pagination: the file holds every model the list would page through. Formula cells are
escaped and each download is audited (``export.downloaded``), as on the inventory page.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, renderers, serializers

from config.api.filters import API_FILTER_BACKENDS
from config.api.query import StrictQueryParameters
from config.api.viewsets import JsonErrors
from registry import selectors
from registry.api.models import ModelFilter
from reports.api.exports import CSVRenderer
from reports.services import inventory_export as export

COLUMNS = ", ".join(label for _key, label in export.COLUMNS)


class XLSXRenderer(renderers.BaseRenderer):
    """Lets ``Accept`` name the XLSX type; the file itself bypasses renderers, errors are JSON."""

    media_type = export.FORMATS["xlsx"]
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


class InventoryExportView(StrictQueryParameters, JsonErrors, generics.GenericAPIView):
    fmt = "csv"
    filter_backends = API_FILTER_BACKENDS
    filterset_class = ModelFilter
    pagination_class = None
    ordering_fields = ["name", "risk_tier", "status", "next_review_due", "created_at", "updated_at"]
    ordering = ["name"]
    search_fields = ["name", "title", "description", "purpose"]

    def get_queryset(self):
        return selectors.model_list(user=self.request.user)

    def perform_content_negotiation(self, request, force=False):
        """An unknown ``?format=`` is a 400 naming it (DRF answers 404, as if the path were wrong)."""
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            if force:
                raise
            formats = ", ".join(renderer.format for renderer in self.get_renderers())
            raise serializers.ValidationError({"format": [f"One of {formats}."]}) from None

    def export(self, request) -> HttpResponse:
        blank = {
            name: ["Give one of the listed values, or leave the parameter out."]
            for name in ("eu_ai_act_category", "status", "tier", "format")
            if any(not value for value in request.query_params.getlist(name))
        }
        if blank:  # django-filter would read a blank choice as "any": the whole inventory, with a 200
            raise serializers.ValidationError(blank)
        models = self.filter_queryset(self.get_queryset())
        filters = {name: ",".join(request.query_params.getlist(name)) for name in request.query_params}
        result = export.inventory_export(actor=request.user, models=models, fmt=self.fmt, filters=filters)
        response = HttpResponse(result.content, content_type=result.content_type)
        response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
        response["X-Row-Count"] = str(result.rows)
        return response


class InventoryCsvExportView(InventoryExportView):
    """The filtered inventory as CSV (UTF-8 with a byte-order mark, CRLF), formula cells escaped."""

    fmt = "csv"
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="exports_inventory_csv",
        filters=True,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=COLUMNS)},
    )
    def get(self, request):
        return self.export(request)


class InventoryXlsxExportView(InventoryExportView):
    """The filtered inventory as an Excel workbook (one sheet), formula cells escaped, dates as dates."""

    fmt = "xlsx"
    renderer_classes = [renderers.JSONRenderer, XLSXRenderer]

    @extend_schema(
        operation_id="exports_inventory_xlsx",
        filters=True,
        responses={(200, export.FORMATS["xlsx"]): OpenApiResponse(OpenApiTypes.BINARY, description=COLUMNS)},
    )
    def get(self, request):
        return self.export(request)
