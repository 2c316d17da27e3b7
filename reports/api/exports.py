"""``GET /api/v1/exports/check-results.csv``: the CSV feed GRC systems pull (see services.exports).

Query: ``updated_since`` (ISO 8601 with a time zone), ``cursor`` (from the previous page) and
``page_size`` (runs per page). The next page's URL is in the ``Link`` header (``rel="next"``) and its
cursor in ``X-Next-Cursor``; both are absent on the last page. Every signed-in caller gets the runs
they may see; each page served is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.views import APIView

from config.api.filters import datetime_problem
from config.api.query import StrictQueryParameters
from config.api.viewsets import JsonErrors
from reports.services import exports

DEFAULT_PAGE_SIZE = 100


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``Accept: text/csv`` through content negotiation; the feed itself bypasses renderers, so
    only error bodies are rendered here, as the one JSON error shape."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


class CheckResultsExportView(StrictQueryParameters, JsonErrors, APIView):
    """One page of check results as CSV: one row per result (and control), formula cells escaped."""

    renderer_classes = [renderers.JSONRenderer, CSVRenderer]
    error_statuses = (404,)  # a cursor that is not one this feed issued

    class Query(serializers.Serializer):
        updated_since = serializers.CharField(required=False, max_length=64)
        cursor = serializers.CharField(required=False, max_length=200)
        page_size = serializers.IntegerField(required=False, min_value=1, default=DEFAULT_PAGE_SIZE)

        def validate_updated_since(self, value: str) -> datetime:
            # Parsed here rather than by DateTimeField, which would read a time without a zone as UTC.
            try:
                moment = parse_datetime(value)
            except ValueError:
                moment = None
            if moment is None:
                raise serializers.ValidationError("An ISO 8601 date and time, e.g. 2025-03-01T00:00:00Z.")
            if moment.tzinfo is None:
                raise serializers.ValidationError("Give a time zone (UTC: a trailing Z).")
            problem = datetime_problem(value)
            if problem:
                raise serializers.ValidationError(problem)
            return moment.astimezone(UTC)  # PostgreSQL refuses offsets beyond ±15:59 that RFC 3339 allows

        def validate_page_size(self, value: int) -> int:
            return min(value, settings.ATTEST_API_MAX_PAGE_SIZE)

    @extend_schema(
        operation_id="exports_check_results_csv",
        parameters=[
            OpenApiParameter(
                "updated_since", OpenApiTypes.DATETIME, description="Results committed at or after."
            ),
            OpenApiParameter("cursor", str, description="The X-Next-Cursor of the previous page."),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1},
                description=f"Check runs per page (default {DEFAULT_PAGE_SIZE}; larger than "
                "ATTEST_API_MAX_PAGE_SIZE is served as that).",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="model, version, control, check, check_run, metric, subject, value, threshold, "
                "result, evaluated_at, evidence_uri, sha256",
            )
        },
    )
    def get(self, request):
        if request.query_params.get("updated_since", None) == "":  # a form-style blank would be skipped
            raise serializers.ValidationError({"updated_since": ["An ISO 8601 date and time, not blank."]})
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = exports.check_results_page(
            actor=request.user, base_url=request.build_absolute_uri("/"), **query.validated_data
        )
        response = HttpResponse(page.content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{exports.EXPORT_NAME}"'
        response["X-Row-Count"] = str(page.rows)
        if page.next_cursor:
            following = request.query_params.copy()
            following["cursor"] = page.next_cursor
            response["X-Next-Cursor"] = page.next_cursor
            response["Link"] = (
                f'<{request.build_absolute_uri(request.path)}?{following.urlencode()}>; rel="next"'
            )
        return response
